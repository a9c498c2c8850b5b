"""The steps anyone may ask about any address do the same work for an unknown account as for a
real one: the same queries, on the same tables, and the same number of tasks queued.

Tasks wait in the database here (``queued_tasks``), as in production: what the worker later does
for a real account (issue the code, record the event, send) is not part of the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.conftest import Mailbox, make_user, run_worker
from threshold.accounts.models import PhoneNumber, User
from threshold.recovery.models import TemporaryAccessPass
from threshold.recovery.services.access_pass import issue_access_pass

# transaction=True: the worker checks its connection as a process does, which a test transaction would not survive.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"
PHONE = "+14255550123"

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


@dataclass(frozen=True)
class Work:
    status: int
    statements: list[tuple[str, tuple[str, ...]]]  # each query's verb and tables, in order
    tasks: list[str]

    @property
    def queries(self) -> int:
        return len(self.statements)


def measure(prepare: Callable[[Client], None], step: Callable[[Client], Any], ip: str) -> Work:
    client = Client(REMOTE_ADDR=ip)
    prepare(client)
    before = set(DBTaskResult.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as captured:
        response = step(client)
    statements = [
        (q["sql"].split(None, 1)[0].upper(), tuple(_TABLE.findall(q["sql"])))
        for q in captured.captured_queries
    ]
    tasks = [t.task_path for t in DBTaskResult.objects.exclude(pk__in=before)]
    return Work(response.status_code, statements, tasks)


def assert_same_work(known: Work, unknown: Work, *, tasks: int) -> None:
    assert known.status == unknown.status
    assert known.queries == unknown.queries, (known.statements, unknown.statements)
    assert known.statements == unknown.statements
    assert len(known.tasks) == len(unknown.tasks) == tasks
    assert known.tasks == unknown.tasks


@pytest.fixture
def ada(db: Any) -> User:
    user = make_user(KNOWN, given_name="Ada")
    PhoneNumber.objects.create(user=user, number=PHONE, verified_at=timezone.now())
    return user


def test_password_reset_send_code(ada: User, mailbox: Mailbox) -> None:
    def steps(email: str, ip: str) -> Work:
        return measure(
            lambda c: c.post("/recover/password/", {"email": email}),
            lambda c: c.post("/recover/password/send/", {"way": "email", "email": email}),
            ip,
        )

    known, unknown = steps(KNOWN, "198.51.100.1"), steps(UNKNOWN, "198.51.100.2")

    assert known.status == 302
    assert_same_work(known, unknown, tasks=1)
    assert mailbox.messages == []
    run_worker()
    assert len(mailbox.to(KNOWN)) == 1 and mailbox.to(UNKNOWN) == []  # the worker tells them apart


def test_account_recovery_send_email_code(ada: User, mailbox: Mailbox) -> None:
    def steps(email: str, ip: str) -> Work:
        return measure(
            lambda c: c.post("/recover/second-method/", {"account_email": email}),
            lambda c: c.post("/recover/second-method/email/", {"action": "send", "address": email}),
            ip,
        )

    known, unknown = steps(KNOWN, "198.51.100.1"), steps(UNKNOWN, "198.51.100.2")

    assert known.status == 302
    assert_same_work(known, unknown, tasks=1)
    run_worker()
    assert len(mailbox.to(KNOWN)) == 1 and mailbox.to(UNKNOWN) == []


def test_account_recovery_send_text_code(ada: User, sms: Any) -> None:
    def steps(email: str, number: str, ip: str) -> Work:
        def prepare(client: Client) -> None:
            client.post("/recover/second-method/", {"account_email": email})
            session = client.session
            session["threshold.recovery.flow"] = {**session["threshold.recovery.flow"], "email_ok": True}
            session.save()

        return measure(
            prepare,
            lambda c: c.post("/recover/second-method/phone/", {"action": "send", "number": number}),
            ip,
        )

    # Each number has its own limit of texts, so each side asks for a number of its own.
    known, unknown = steps(KNOWN, PHONE, "198.51.100.1"), steps(UNKNOWN, "+14255550188", "198.51.100.2")

    assert known.status == 302
    assert_same_work(known, unknown, tasks=1)
    run_worker()
    assert len(sms.messages(PHONE)) == 1 and sms.messages("+14255550188") == []


def test_recovery_request(ada: User, mailbox: Mailbox) -> None:
    def steps(email: str, contact: str, ip: str) -> Work:
        return measure(
            lambda c: None,
            lambda c: c.post("/recover/request/", {"account_email": email, "contact_email": contact}),
            ip,
        )

    known = steps(KNOWN, "reach-me-1@example.org", "198.51.100.1")
    unknown = steps(UNKNOWN, "reach-me-2@example.org", "198.51.100.2")

    assert known.status == 302
    assert_same_work(known, unknown, tasks=1)  # the code to the contact address, either way


def test_access_pass_sign_in(ada: User) -> None:
    issue_access_pass(user=ada, issued_by=None, request=None)  # the known account has a pass
    assert TemporaryAccessPass.objects.filter(user=ada).exists()

    def steps(email: str, ip: str) -> Work:
        return measure(
            lambda c: None,
            lambda c: c.post("/recover/access-pass/", {"email": email, "access_pass": "7KQM-3XPD-WN4T-HB2R"}),
            ip,
        )

    known, unknown = steps(KNOWN, "198.51.100.1"), steps(UNKNOWN, "198.51.100.2")

    assert known.status == 400  # the same refusal for both
    assert_same_work(known, unknown, tasks=0)  # a refused pass sends nothing, to anyone
