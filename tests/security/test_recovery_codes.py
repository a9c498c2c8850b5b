"""Recovery codes: ten, hashed, shown once, downloadable and printable, spent exactly once."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connection

from tests.conftest import Mailbox, make_user
from tests.security.conftest import Commits, Person, browser, is_signed_in, sign_in, verify
from threshold.activity.models import SecurityEvent
from threshold.core.errors import FreshSignInRequired
from threshold.security import codes
from threshold.security.models import RecoveryCode
from threshold.security.services.recovery_codes import generate_recovery_codes, use_recovery_code

pytestmark = pytest.mark.django_db


def test_turning_on_two_step_shows_ten_codes_once(user_with_two_step: Person) -> None:
    plain = user_with_two_step.recovery_codes
    assert len(set(plain)) == 10
    stored = list(RecoveryCode.objects.filter(user=user_with_two_step.user))
    assert len(stored) == 10
    for code in plain:
        normalized = codes.normalize_recovery_code(code)
        assert not any(normalized in (row.code_hash, row.salt) for row in stored)

    client = user_with_two_step.client
    download = client.get("/security/recovery-codes/download/")
    assert download["Content-Disposition"] == 'attachment; filename="threshold-recovery-codes.txt"'
    assert download["Content-Type"].startswith("text/plain")
    assert all(code in download.content.decode() for code in plain)
    printable = client.get("/security/recovery-codes/print/").content.decode()
    assert all(code in printable for code in plain) and "data-print" in printable

    client.post("/security/recovery-codes/done/")
    response = client.get("/security/recovery-codes/")
    assert response["Location"] == "/security/"
    assert client.get("/security/recovery-codes/download/").status_code == 404
    page = client.get("/security/").content.decode()
    assert not any(code in page for code in plain)
    assert "10 codes left" in page


def test_a_recovery_code_signs_in_once_and_emails_the_person(
    user_with_two_step: Person, mailbox: Mailbox, commits: Commits
) -> None:
    code = user_with_two_step.recovery_codes[3]
    client = browser()
    sign_in(client, user_with_two_step.user)
    mailbox.clear()
    with commits(execute=True):
        response = verify(client, code.upper().replace("-", " "), method="recovery-code")
    assert response.status_code == 302
    assert is_signed_in(client)
    [message] = mailbox.to("ada@example.com")
    assert message["Subject"] == "Threshold: Security alert: Recovery code used"
    body = Mailbox.text(message)
    assert "A recovery code was used to sign in to your account." in body
    assert "You have 9 recovery codes left." in body
    assert "make a new set" in body

    again = browser()
    sign_in(again, user_with_two_step.user)
    assert verify(again, code, method="recovery-code").status_code == 400
    assert not is_signed_in(again)


def test_regenerating_voids_the_old_set(user_with_two_step: Person, commits: Commits) -> None:
    old = user_with_two_step.recovery_codes
    client = user_with_two_step.client
    assert (
        "Any codes you have now stop working" in client.get("/security/recovery-codes/new/").content.decode()
    )
    with commits(execute=True):
        response = client.post("/security/recovery-codes/new/")
    assert response["Location"] == "/security/recovery-codes/"
    new = re.findall(
        r"<code>([0-9a-z-]{14})</code>", client.get("/security/recovery-codes/").content.decode()
    )
    assert len(new) == 10 and not set(new) & set(old)
    assert not use_recovery_code(user=user_with_two_step.user, request=None, code=old[0])
    assert use_recovery_code(user=user_with_two_step.user, request=None, code=new[0])
    assert SecurityEvent.objects.filter(code="account:recovery_codes:generate").count() == 2


def test_regenerating_needs_a_recent_sign_in(user_with_two_step: Person, clock: Any) -> None:
    clock.advance(601)
    response = user_with_two_step.client.post("/security/recovery-codes/new/")
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fsecurity%2Frecovery-codes%2Fnew%2F"
    with pytest.raises(FreshSignInRequired):
        generate_recovery_codes(user=user_with_two_step.user, request=None)


def test_the_page_warns_at_three_codes_or_fewer(user_with_two_step: Person) -> None:
    for code in user_with_two_step.recovery_codes[:6]:
        assert use_recovery_code(user=user_with_two_step.user, request=None, code=code)
    page = user_with_two_step.client.get("/security/").content.decode()
    assert "4 codes left" in page and "running low" not in page
    use_recovery_code(user=user_with_two_step.user, request=None, code=user_with_two_step.recovery_codes[6])
    page = user_with_two_step.client.get("/security/").content.decode()
    assert "3 codes left" in page
    assert "You are running low on recovery codes" in page
    assert "You have 3 recovery codes left" in page  # the status line's next step


def test_codes_are_normalised_and_look_alikes_accepted() -> None:
    code = "0o1i-lu23-4567"
    assert codes.normalize_recovery_code(code) == codes.normalize_recovery_code("0011 1v23 4567")
    assert codes.normalize_recovery_code("too-short") == ""


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_submissions_of_one_code_succeed_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    user = make_user("race@example.com")
    plain = codes.new_recovery_code()
    salt = codes.new_salt()
    RecoveryCode.objects.create(
        user=user, salt=salt, code_hash=codes.hash_recovery_code(codes.normalize_recovery_code(plain), salt)
    )
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            barrier.wait()
            ok = use_recovery_code(user=user, request=None, code=plain) is not None
            with lock:
                results.append(ok)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert results.count(True) == 1
    assert SecurityEvent.objects.filter(user=user, code="account:recovery_codes:use").count() == 1
    assert RecoveryCode.objects.get(user=user).used_at is not None
