"""Sign-in, sign-up and its "Send a new code" do the same work for an address without an
account as for one with an account: the same queries, on the same tables, in the same order,
and the same tasks queued (issue 10 §3). The steps of recovery are in tests/recovery/test_same_work.py.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection
from django.test import Client

from tests.conftest import PASSWORD, Mailbox, make_user, run_worker
from tests.recovery.test_same_work import Work, assert_same_work, measure
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

# transaction=True: as in tests/recovery/test_same_work.py, the queries are those of a real request.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"


@pytest.fixture
def ada(db: Any) -> User:
    return make_user(KNOWN, given_name="Ada")


def test_sign_in_with_a_wrong_password(ada: User) -> None:
    def steps(email: str, ip: str) -> Work:
        return measure(
            lambda c: c.get("/accounts/login/"),
            lambda c: c.post("/accounts/login/", {"login": email, "password": "a wrong guess"}),
            ip,
        )

    known, unknown = steps(KNOWN, "198.51.100.1"), steps(UNKNOWN, "198.51.100.2")

    assert known.status == 200  # the form again, with the same error for both
    assert_same_work(known, unknown, tasks=0)


def sign_up(client: Client, email: str) -> Any:
    return client.post(
        "/accounts/signup/",
        {"given_name": "Ada", "family_name": "King", "email": email, "password1": PASSWORD},
    )


def test_sign_up_queues_one_message_either_way(ada: User, mailbox: Mailbox) -> None:
    """The message is queued, not sent, in both cases (the queries: the next test)."""

    def steps(email: str, ip: str) -> Work:
        return measure(lambda c: c.get("/accounts/signup/"), lambda c: sign_up(c, email), ip)

    new, existing = steps(UNKNOWN, "198.51.100.1"), steps(KNOWN, "198.51.100.2")

    assert new.status == existing.status == 302
    assert new.tasks == existing.tasks == ["threshold.core.tasks.deliver_mail"]
    assert mailbox.messages == []
    run_worker()
    assert len(mailbox.to(UNKNOWN)) == 1 and len(mailbox.to(KNOWN)) == 1
    assert "already" in Mailbox.text(mailbox.to(KNOWN)[0]).lower()
    assert User.objects.filter(email=KNOWN).count() == 1


def test_sign_up_send_a_new_code(ada: User, mailbox: Mailbox) -> None:
    def steps(email: str, ip: str) -> Work:
        def prepare(client: Client) -> None:
            client.get("/accounts/signup/")
            assert sign_up(client, email)["Location"] == "/accounts/confirm-email/"
            client.get("/accounts/confirm-email/")
            cache.clear()  # time passes: allauth sends an address at most one code every 10 seconds

        return measure(prepare, lambda c: c.post("/accounts/confirm-email/", {"action": "resend"}), ip)

    new, existing = steps(UNKNOWN, "198.51.100.1"), steps(KNOWN, "198.51.100.2")

    assert new.status == 302
    assert_same_work(new, existing, tasks=1)
    run_worker()
    # The sign-up's message and the new one: two codes for the new address, and "you already
    # have an account" twice for the existing one.
    assert len(mailbox.to(UNKNOWN)) == len(mailbox.to(KNOWN)) == 2
    assert all("already" in Mailbox.text(m).lower() for m in mailbox.to(KNOWN))


def test_sign_up_does_the_same_work(ada: User, mailbox: Mailbox) -> None:
    """A taken address signs up a stand-in account in a savepoint it rolls back: the same
    statements, on the same tables, in the same order, as a new account's; only the savepoint
    that undoes it (its opening, roll-back and release) is more."""

    def steps(email: str, ip: str) -> Work:
        return measure(lambda c: c.get("/accounts/signup/"), lambda c: sign_up(c, email), ip)

    new, existing = steps(UNKNOWN, "198.51.100.1"), steps(KNOWN, "198.51.100.2")

    assert new.status == existing.status == 302
    assert ("INSERT", ("accounts_user",)) in new.statements
    apart = [
        (tag, new.statements[i1:i2], existing.statements[j1:j2])
        for tag, i1, i2, j1, j2 in SequenceMatcher(
            None, new.statements, existing.statements, autojunk=False
        ).get_opcodes()
        if tag != "equal"
    ]
    assert apart == [
        ("insert", [], [("SAVEPOINT", ())]),
        ("insert", [], [("ROLLBACK", ()), ("RELEASE", ())]),
    ], (new.statements, existing.statements)
    assert new.tasks == existing.tasks == ["threshold.core.tasks.deliver_mail"]


def _cache_keys() -> list[str]:
    """The cache's keys (the tests' database cache), each IP address and digest in them made alike."""
    assert isinstance(caches["default"], DatabaseCache)
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM threshold_cache")
        keys = [row[0] for row in cursor.fetchall()]
    return sorted(re.sub(r"ip:[\d.]+|[0-9a-f]{16,}", "_", key) for key in keys)


def test_sign_up_with_a_taken_address_leaves_nothing_of_its_stand_in(ada: User, mailbox: Mailbox) -> None:
    """No row, no event, no mail, no cache entry and nothing in the session is left of the
    stand-in account."""
    users = list(User.objects.values_list("pk", "email"))
    addresses = list(EmailAddress.objects.values_list("pk", "email", "user_id"))
    events = list(SecurityEvent.objects.values_list("pk", flat=True))

    client = Client(REMOTE_ADDR="198.51.100.2")
    client.get("/accounts/signup/")
    assert sign_up(client, KNOWN)["Location"] == "/accounts/confirm-email/"

    assert list(User.objects.values_list("pk", "email")) == users
    assert list(EmailAddress.objects.values_list("pk", "email", "user_id")) == addresses
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == events
    session = dict(client.session.items())
    assert "_auth_user_id" not in session and "stand-in" not in repr(session)
    taken_keys = _cache_keys()
    run_worker()
    assert [m["To"] for m in mailbox.messages] == [KNOWN]
    assert "already" in Mailbox.text(mailbox.messages[0]).lower()

    # The cache holds what a new address's sign-up leaves too (its rate limits), nothing more.
    cache.clear()
    new = Client(REMOTE_ADDR="198.51.100.2")
    new.get("/accounts/signup/")
    sign_up(new, UNKNOWN)
    assert taken_keys == _cache_keys()
