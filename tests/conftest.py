"""Shared fixtures: a real SMTP sink, accounts in known states, a clean cache per test."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.core.cache import cache

from threshold.accounts.models import AccountKind, Organization, User
from threshold.orgs.models import Membership, OrganizationPolicy, Role

# Fails a whole run that leaves a catalogued security event unemitted (tests/emitted_events.py).
pytest_plugins = ["tests.emitted_events"]

PASSWORD = "correct horse battery staple 42"


@dataclass
class Mailbox:
    """Messages received over SMTP by the sink, in order."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m.get("To", ""))]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[union-attr]

    def last_code(self, address: str) -> str:
        """The most recent verification code mailed to ``address``."""
        for message in reversed(self.to(address)):
            match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}|\d{6})\b", self.text(message))
            if match:
                return match.group(1)
        raise AssertionError(f"no code was mailed to {address}")


@pytest.fixture(scope="session")
def _smtp_sink() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def mailbox(_smtp_sink: tuple[Controller, Mailbox], settings: Any) -> Mailbox:
    """Every message the portal sends goes over real SMTP to a local sink."""
    controller, box = _smtp_sink
    port = controller.port
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    box.clear()
    return box


IMMEDIATE_TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings: Any) -> None:
    """Most tests follow one request to the message it sends, so tasks run as they are queued.

    Production queues them in the database for ``threshold worker``; tests/core/test_queue.py
    (and the tests that compare known and unknown accounts) use that backend and the real worker.
    """
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def queued_tasks(settings: Any) -> None:
    """Tasks wait in the database for the worker, as in production."""
    settings.TASKS = DATABASE_TASKS


@pytest.fixture(autouse=True)
def _clean_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Throttle counters live in the cache (the database's, unless Redis is configured)."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if uses_db:
        if not {"transactional_db", "live_server"} & set(request.fixturenames):
            request.getfixturevalue("db")  # autouse fixtures run before the test's own
        cache.clear()
    yield
    if uses_db:
        cache.clear()


class SmsOutbox:
    """Text messages the OutboxSmsGateway (the local twin of a provider) wrote to disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self, to: str | None = None) -> list[str]:
        bodies = []
        for path in sorted(self.directory.glob("*-sms.eml")) if self.directory.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or message["Subject"] == f"Text message to {to}":
                bodies.append(message.get_content())  # type: ignore[attr-defined]
        return bodies

    def last_code(self, to: str) -> str:
        bodies = self.messages(to)
        assert bodies, f"no text message was sent to {to}"
        match = re.search(r"\b(\d{6})\b", bodies[-1])
        assert match, bodies[-1]
        return match.group(1)


@pytest.fixture
def sms(settings: Any, tmp_path: Path) -> SmsOutbox:
    """Text messages go to the outbox twin, in a directory of this test's own."""
    settings.SMS_GATEWAY = "threshold.core.sms.OutboxSmsGateway"
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return SmsOutbox(settings.OUTBOX_DIR)


def make_user(
    email: str = "ada@example.com",
    *,
    password: str | None = PASSWORD,
    verified: bool = True,
    **extra: Any,
) -> User:
    user = User.objects.create_user(email=email, password=password, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


@pytest.fixture
def user(db: Any) -> User:
    return make_user(given_name="Ada", family_name="Lovelace")


@pytest.fixture
def signed_in_client(client: Any, user: User) -> Any:
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def contoso(db: Any) -> Organization:
    return Organization.objects.create(name="Contoso", slug="contoso", verified_domains=["contoso.example"])


def join_as_work_account(user: User, organization: Organization, *, role: str = Role.MEMBER) -> User:
    """Make ``user`` a work account that ``organization`` owns, as its directory would."""
    user.kind = AccountKind.WORK
    user.organization = organization
    user.save(update_fields=["kind", "organization"])
    Membership.objects.create(user=user, organization=organization, role=role, home=True)
    return user


@pytest.fixture
def org_requiring_mfa(contoso: Organization) -> Organization:
    """Contoso, whose policy requires two-step verification of its members (a real policy row)."""
    OrganizationPolicy.objects.create(organization=contoso, require_two_step=True)
    return contoso


@pytest.fixture
def work_user(contoso: Organization) -> User:
    return make_user("megan@contoso.example", kind=AccountKind.WORK, organization=contoso, given_name="Megan")


def redis_url() -> str:
    """The Redis to test against (``THRESHOLD_TEST_REDIS_URL``); in CI its absence fails the run."""
    url = os.environ.get("THRESHOLD_TEST_REDIS_URL", "")
    if not url:
        message = (
            "SKIPPED LOUDLY: THRESHOLD_TEST_REDIS_URL is not set, so nothing was tested against Redis "
            "(set it, e.g. redis://127.0.0.1:6379/15)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        warnings.warn(message, pytest.PytestWarning, stacklevel=2)
        pytest.skip(message)
    return url


@pytest.fixture(params=["database", "redis"])
def shared_cache(request: pytest.FixtureRequest) -> Iterator[str]:
    """The cache every app process shares: the database's, or Redis in its own key space."""
    if request.param == "database":
        yield "database"
        return
    import redis
    from django.test import override_settings

    url = redis_url()
    prefix = f"threshold-test-{uuid.uuid4().hex[:12]}"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(url)
    with override_settings(CACHES=caches):
        yield "redis"
    # Only our keys: never FLUSHDB a Redis that other runs may share.
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


_real_time = time.time


class Clock:
    """Moves the clock on: ``time.time`` for everything that reads it (allauth's records of
    when this session signed in, the fresh-sign-in rule, cache expiry)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return _real_time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(time, "time", fake.time)
    yield fake


def run_worker(*, lease_seconds: int = 600) -> int:
    """Run every queued task, in this process, as ``threshold worker --batch`` does; how many ran."""
    from threshold.core.management.commands.worker import Worker

    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
        lease_seconds=lease_seconds,
    )
    worker.run()
    return worker._run_tasks
