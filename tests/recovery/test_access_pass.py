"""Temporary Access Pass: issued once and told to the member, signs in to set up methods only."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.config.staff_support import staff_operator
from tests.conftest import Mailbox, make_user
from tests.core.test_configuration import run
from tests.security.conftest import (
    Commits,
    Person,
    browser,
    is_signed_in,
    oathtool_code,
    read_secret,
)
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.recovery import codes
from threshold.recovery.models import TemporaryAccessPass
from threshold.recovery.services.access_pass import (
    AccessPassNotIssued,
    AccessPassRefused,
    issue_access_pass,
    redeem_access_pass,
    revoke_access_pass,
)
from threshold.security.models import MethodKind, SignInMethod
from threshold.verification.sign_in import proof_in

pytestmark = pytest.mark.django_db

REFUSAL = "That email address and pass didn&#x27;t work together."


def issue(user: User, commits: Commits, **options: Any) -> tuple[TemporaryAccessPass, str]:
    with commits(execute=True):
        return issue_access_pass(user=user, issued_by=None, request=None, **options)


def use_pass(client: Client, email: str, plain: str) -> Any:
    return client.post("/recover/access-pass/", {"email": email, "access_pass": plain})


def pass_signed_in(client: Client) -> bool:
    """A pass session reaches only its set-up page; a signed-out one is sent to sign in."""
    return client.get("/recover/set-up/").status_code == 200


def answer(response: Any, email: str, plain: str) -> str:
    """The page as the visitor sees it, without what differs from one request to the next
    (the CSRF token) and what they typed, which the form shows them again."""
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(email, "EMAIL").replace(plain, "PASS")


# --- Issuing ---------------------------------------------------------------------------------


def test_issuing_is_shown_to_the_member_and_mailed_to_them(
    user_with_totp: Person, mailbox: Mailbox, commits: Commits
) -> None:
    mailbox.clear()
    access_pass, plain = issue(user_with_totp.user, commits)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", plain)
    stored = TemporaryAccessPass.objects.get(pk=access_pass.pk)
    assert codes.normalize_access_pass(plain) not in stored.pass_hash
    assert stored.one_time and stored.use_count == 0
    minutes = (stored.expires_at - stored.created_at).total_seconds() / 60
    assert minutes == 60

    page = user_with_totp.client.get("/activity/").content.decode()
    assert "Temporary Access Pass issued" in page
    [message] = mailbox.to("ada@example.com")
    assert message["Subject"] == "Threshold: Security alert: Temporary Access Pass issued"
    body = Mailbox.text(message)
    assert "A Temporary Access Pass was issued for your account." in body
    assert "For the next 60 minutes it lets whoever holds it sign in" in body
    assert "It works only once." in body
    assert plain not in body


def test_a_new_pass_revokes_the_earlier_one(person: Person, commits: Commits) -> None:
    first, first_plain = issue(person.user, commits)
    second, second_plain = issue(person.user, commits, minutes=120, one_time=False)
    first.refresh_from_db()
    assert first.revoked_at is not None and not first.is_live
    assert second.is_live and not second.one_time
    assert use_pass(browser(), "ada@example.com", first_plain).status_code == 400
    assert use_pass(browser(), "ada@example.com", second_plain).status_code == 302


def test_a_pass_works_for_10_to_1440_minutes_and_never_for_a_closing_account(
    person: Person, commits: Commits
) -> None:
    for minutes in (9, 1441):
        with pytest.raises(AccessPassNotIssued):
            issue_access_pass(user=person.user, issued_by=None, request=None, minutes=minutes)
    User.objects.filter(pk=person.user.pk).update(closes_at=timezone.now() + timedelta(days=30))
    person.user.refresh_from_db()
    with pytest.raises(AccessPassNotIssued):
        issue_access_pass(user=person.user, issued_by=None, request=None)
    assert not TemporaryAccessPass.objects.exists()


def test_the_command_prints_the_pass_once(person: Person, mailbox: Mailbox, commits: Commits) -> None:
    out = io.StringIO()
    with commits(execute=True):
        call_command("issue_access_pass", "ADA@example.com", "--minutes", "30", "--reusable", stdout=out)
    printed = out.getvalue()
    plain = re.search(r"\(shown only now\): (\S+)", printed)
    assert plain, printed
    assert "any number of times" in printed and "/recover/access-pass/" in printed
    access_pass = TemporaryAccessPass.objects.get()
    assert not access_pass.one_time
    assert (access_pass.expires_at - access_pass.created_at) == timedelta(minutes=30)
    assert str(access_pass.public_id) in printed
    event = SecurityEvent.objects.get(code="account:access_pass:issue")
    assert event.actor_label.startswith("operator") and event.user == person.user
    assert mailbox.to("ada@example.com"), "the member is told"
    assert use_pass(browser(), "ada@example.com", plain.group(1)).status_code == 302

    with pytest.raises(CommandError, match="No account"):
        call_command("issue_access_pass", "nobody@example.com", stdout=io.StringIO())
    with pytest.raises(CommandError, match="10 to 1440 minutes"):
        call_command("issue_access_pass", "ada@example.com", "--minutes", "5", stdout=io.StringIO())


def test_the_setting_refuses_values_outside_its_bounds(tmp_path: Path) -> None:
    result = run(["check"], tmp_path, THRESHOLD_ACCESS_PASS_MINUTES="5000")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    [line] = [line for line in output.splitlines() if "THRESHOLD_ACCESS_PASS_MINUTES" in line]
    assert "above the maximum of 1440" in line


# --- Signing in ---------------------------------------------------------------------------------


def test_a_one_time_pass_signs_in_once_without_password_or_second_step(
    user_with_two_step: Person, commits: Commits
) -> None:
    access_pass, plain = issue(user_with_two_step.user, commits)
    client = browser()
    assert "Use a Temporary Access Pass" in client.get("/accounts/login/").content.decode()
    response = use_pass(client, "Ada@Example.com", plain.lower().replace("-", " "))
    assert response.status_code == 302 and response["Location"] == "/recover/set-up/"
    assert pass_signed_in(client)
    session = client.session
    assert proof_in(session).vouched_by == "access_pass"
    assert session.get_expiry_date() <= access_pass.expires_at + timedelta(seconds=1)
    event = SecurityEvent.objects.filter(code="account:signin:success").latest("id")
    assert event.method == "access_pass" and event.user == user_with_two_step.user
    page = client.get("/recover/set-up/").content.decode()
    assert "You signed in with a Temporary Access Pass" in page
    access_pass.refresh_from_db()
    assert access_pass.use_count == 1 and access_pass.used_at is not None

    again = browser()
    response = use_pass(again, "ada@example.com", plain)
    assert response.status_code == 400 and REFUSAL in response.content.decode()
    assert not pass_signed_in(again)
    refused = SecurityEvent.objects.get(code="account:access_pass:refused")
    assert refused.details["reason"] == "used" and refused.method == "access_pass"


def test_a_reusable_pass_works_until_it_expires(person: Person, commits: Commits) -> None:
    access_pass, plain = issue(person.user, commits, one_time=False)
    for _ in range(2):
        client = browser()
        assert use_pass(client, "ada@example.com", plain).status_code == 302
        assert pass_signed_in(client)
    TemporaryAccessPass.objects.filter(pk=access_pass.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = browser()
    assert use_pass(late, "ada@example.com", plain).status_code == 400
    assert not pass_signed_in(late)
    access_pass.refresh_from_db()
    assert access_pass.use_count == 2


def test_every_refusal_gives_the_same_answer(person: Person, commits: Commits, settings: Any) -> None:
    settings.ACCESS_PASS_ATTEMPT_LIMITS = {"account": [(20, 900)], "address": [(50, 900)]}
    other = make_user("grace@example.com")
    _, others_pass = issue(other, commits)
    revoked, revoked_plain = issue(person.user, commits)
    revoke_access_pass(access_pass=revoked, revoked_by=None, request=None)
    expired, expired_plain = issue(person.user, commits)
    TemporaryAccessPass.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    _, used_plain = issue(person.user, commits)
    assert use_pass(browser(), "ada@example.com", used_plain).status_code == 302
    locked_user = make_user("locked@example.com")
    _, locked_plain = issue(locked_user, commits)
    User.objects.filter(pk=locked_user.pk).update(locked_at=timezone.now())

    attempts = {
        "wrong_pass": ("ada@example.com", codes.new_access_pass()),
        "malformed": ("ada@example.com", "not a pass"),
        "unknown_account": ("nobody@example.com", codes.new_access_pass()),
        "other_account": ("ada@example.com", others_pass),
        "revoked": ("ada@example.com", revoked_plain),
        "expired": ("ada@example.com", expired_plain),
        "used": ("ada@example.com", used_plain),
        "locked": ("locked@example.com", locked_plain),
    }
    answers = set()
    for email, plain in attempts.values():
        client = browser()
        response = use_pass(client, email, plain)
        assert response.status_code == 400
        assert REFUSAL in response.content.decode()
        assert not pass_signed_in(client)
        answers.add(answer(response, email, plain))
    assert len(answers) == 1
    reasons = list(
        SecurityEvent.objects.filter(code="account:access_pass:refused")
        .order_by("id")
        .values_list("details__reason", flat=True)
    )
    assert reasons == [
        "wrong_pass",
        "wrong_pass",
        "unknown_account",
        "wrong_pass",
        "revoked",
        "expired",
        "used",
        "locked",
    ]
    User.objects.filter(pk=locked_user.pk).update(locked_at=None)
    assert not User.objects.get(pk=locked_user.pk).is_locked


def test_a_closing_account_is_refused(person: Person, commits: Commits) -> None:
    _, plain = issue(person.user, commits)
    User.objects.filter(pk=person.user.pk).update(closes_at=timezone.now() + timedelta(days=30))
    assert use_pass(browser(), "ada@example.com", plain).status_code == 400
    assert SecurityEvent.objects.get(code="account:access_pass:refused").details["reason"] == "closed"


def test_tries_are_limited_per_account_and_per_address(
    person: Person, commits: Commits, settings: Any
) -> None:
    settings.ACCESS_PASS_ATTEMPT_LIMITS = {"account": [(3, 900)], "address": [(5, 900)]}
    _, plain = issue(person.user, commits)
    client = browser()
    for _ in range(3):
        assert use_pass(client, "ada@example.com", codes.new_access_pass()).status_code == 400
    response = use_pass(client, "ada@example.com", plain)
    assert response.status_code == 400
    assert "Too many tries with a Temporary Access Pass" in response.content.decode()
    assert not pass_signed_in(client)
    blocked = SecurityEvent.objects.get(code="account:signin:throttled")
    assert blocked.method == "access_pass" and blocked.user == person.user

    # The same address, other accounts: the address's own, larger allowance runs out too.
    assert "Too many" not in use_pass(client, "x0@example.com", "AAAA").content.decode()
    assert "Too many" in use_pass(client, "x1@example.com", "AAAA").content.decode()
    # From another address, the account itself still has to wait.
    other = browser(REMOTE_ADDR="198.51.100.7")
    assert "Too many" in use_pass(other, "ada@example.com", plain).content.decode()
    assert not pass_signed_in(other)


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_uses_of_a_one_time_pass_succeed_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    user = make_user("race@example.com")
    _, plain = issue_access_pass(user=user, issued_by=None, request=None)
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            barrier.wait()
            try:
                redeem_access_pass(email=user.email, code=plain, request=None)
                ok = True
            except AccessPassRefused:
                ok = False
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
    assert TemporaryAccessPass.objects.get(user=user).use_count == 1
    assert SecurityEvent.objects.filter(user=user, code="account:access_pass:refused").count() == 19


# --- The pass session ----------------------------------------------------------------------------


@pytest.fixture
def pass_session(user_with_two_step: Person, commits: Commits) -> Person:
    """The account with 2SV lost its phone: an operator issued a pass, and it signed in."""
    _, plain = issue(user_with_two_step.user, commits)
    client = browser()
    assert use_pass(client, "ada@example.com", plain)["Location"] == "/recover/set-up/"
    return Person(user=user_with_two_step.user, client=client)


def test_the_pass_session_adds_an_authenticator_app_without_signing_in_again(
    person: Person, commits: Commits, clock: Any
) -> None:
    _, plain = issue(person.user, commits)
    client = browser()
    assert use_pass(client, "ada@example.com", plain).status_code == 302
    clock.advance(15 * 60)  # past the 10-minute fresh sign-in: the pass itself is the proof
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = read_secret(page.content.decode())
    with commits(execute=True):
        response = client.post(
            "/accounts/2fa/totp/activate/",
            {"code": oathtool_code(secret, at=time.time()), "name": "New phone"},
        )
    assert response.status_code == 302, response.content[:500]
    method = SignInMethod.objects.get(user=person.user)
    assert method.kind == MethodKind.AUTHENTICATOR_APP
    assert SecurityEvent.objects.filter(code="account:method:add", user=person.user).exists()
    page = client.get("/recover/set-up/").content.decode()
    assert page.count("Done") == 1 and page.count("To do") == 1


def test_the_pass_session_reaches_only_the_set_up_pages(pass_session: Person) -> None:
    client = pass_session.client
    for path in ("/", "/your-info/", "/devices/", "/activity/", "/privacy/", "/staff/", "/accounts/email/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/recover/set-up/", path
    response = client.post("/security/two-step/off/")
    assert response["Location"] == "/recover/set-up/"
    assert SecurityEvent.objects.filter(code="account:2sv:disable").count() == 0
    for path in ("/recover/set-up/", "/security/", "/security/add/", "/accounts/2fa/webauthn/add/"):
        assert client.get(path).status_code == 200, path
    assert client.post("/accounts/logout/").status_code == 302
    assert not pass_signed_in(client)
    assert not is_signed_in(client)


def test_revoking_the_pass_ends_its_session(pass_session: Person) -> None:
    access_pass = TemporaryAccessPass.objects.get(user=pass_session.user)
    assert revoke_access_pass(access_pass=access_pass, revoked_by=None, request=None)
    assert not revoke_access_pass(access_pass=access_pass, revoked_by=None, request=None)
    response = pass_session.client.get("/recover/set-up/")
    assert response["Location"] == "/accounts/login/"
    assert not pass_signed_in(pass_session.client)
    assert SecurityEvent.objects.filter(code="account:access_pass:revoke").count() == 1


def test_the_pass_session_ends_when_the_pass_expires(pass_session: Person) -> None:
    TemporaryAccessPass.objects.filter(user=pass_session.user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert pass_session.client.get("/security/")["Location"] == "/accounts/login/"
    assert not pass_signed_in(pass_session.client)


def test_staff_see_passes_without_their_value_and_can_revoke_them(person: Person, commits: Commits) -> None:
    access_pass, plain = issue(person.user, commits)
    client = staff_operator(commits, "admin@example.com").client
    listing = client.get("/staff/recovery/temporaryaccesspass/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "ada@example.com" in page and "Active" in page
    assert plain not in page and access_pass.pass_hash not in page
    detail = client.get(f"/staff/recovery/temporaryaccesspass/{access_pass.pk}/change/").content.decode()
    assert access_pass.pass_hash not in detail
    response = client.post(
        "/staff/recovery/temporaryaccesspass/",
        {"action": "revoke", "_selected_action": [str(access_pass.pk)]},
    )
    assert response.status_code == 302
    access_pass.refresh_from_db()
    assert access_pass.revoked_at is not None
    event = SecurityEvent.objects.get(code="account:access_pass:revoke")
    assert event.actor_label == "admin@example.com"


def test_an_account_held_on_the_change_password_page_is_not_sent_round_in_circles(
    person: Person, commits: Commits
) -> None:
    User.objects.filter(pk=person.user.pk).update(must_change_password=True)
    _, plain = issue(person.user, commits)
    client = browser()
    use_pass(client, "ada@example.com", plain)
    assert client.get("/recover/set-up/")["Location"] == "/accounts/password/change/"
    assert client.get("/accounts/password/change/").status_code == 200
    assert client.get("/devices/")["Location"] == "/accounts/password/change/"
