"""Growing delays after failed sign-ins, per account and per client address, shared by processes."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import PASSWORD, make_user, redis_url
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.verification import throttle

ROOT = Path(__file__).resolve().parents[2]
WRONG = "not the password at all"


class Clock:
    """``time.time`` standing still until the test moves it (the throttle reads nothing else).

    Unlike conftest's ``clock``, which moves real time on, this one is frozen: the waits the
    pages ask for are then exact, however slowly the test runs.
    """

    def __init__(self, monkeypatch: Any) -> None:
        self.now = time.time()
        monkeypatch.setattr(throttle.time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: Any) -> Clock:
    return Clock(monkeypatch)


def sign_in(email: str, password: str, ip: str = "198.51.100.7") -> Any:
    # A fresh browser each time: what counts is the account and the address, not the session.
    return Client().post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


def wait_asked(response: Any) -> int | None:
    """The seconds the refusal asks the person to wait, or None when the attempt was not refused."""
    match = re.search(r"Wait (\d+) seconds? and try again", response.content.decode())
    return int(match.group(1)) if match else None


def test_delays_grow_after_the_free_failures_and_cap_at_15_minutes() -> None:
    assert [throttle.delay_for(n, 4) for n in range(9)] == [0, 0, 0, 0, 2, 4, 8, 16, 32]
    assert throttle.delay_for(13, 4) == 900
    assert throttle.delay_for(10_000, 4) == 900


@pytest.mark.django_db
def test_growing_delays_per_account(shared_cache: str, clock: Clock, user: User) -> None:
    for _ in range(throttle.FREE_FAILURES_PER_ACCOUNT):
        response = sign_in(user.email, WRONG)
        assert response.status_code == 200 and wait_asked(response) is None

    # Even the right password waits: the throttle answers before any password is checked.
    assert wait_asked(sign_in(user.email, PASSWORD)) == 2
    clock.advance(1)
    assert wait_asked(sign_in(user.email, PASSWORD)) == 1
    clock.advance(1)
    assert wait_asked(sign_in(user.email, WRONG)) is None  # the 5th failure, allowed after 2 s
    assert wait_asked(sign_in(user.email, WRONG)) == 4
    clock.advance(4)
    assert wait_asked(sign_in(user.email, WRONG)) is None
    assert wait_asked(sign_in(user.email, WRONG)) == 8
    # The same address with another account is not held up by this account's count.
    other = make_user("grace@example.com")
    assert sign_in(other.email, PASSWORD).status_code == 302

    event = SecurityEvent.objects.filter(code="account:signin:throttled", user=user).first()
    assert event is not None
    assert (event.result, event.method, event.ip) == ("blocked", "password", "198.51.100.7")
    assert event.details == {"retry_after": 8}
    assert SecurityEvent.objects.filter(code="account:signin:throttled").count() == 4


@pytest.mark.django_db
def test_success_resets_the_account_count(shared_cache: str, clock: Clock, user: User) -> None:
    for _ in range(throttle.FREE_FAILURES_PER_ACCOUNT + 1):
        sign_in(user.email, WRONG)
        clock.advance(60)
    assert sign_in(user.email, PASSWORD).status_code == 302
    # A fresh allowance: four free failures again, and only then a wait.
    for _ in range(throttle.FREE_FAILURES_PER_ACCOUNT):
        assert wait_asked(sign_in(user.email, WRONG)) is None
    assert wait_asked(sign_in(user.email, WRONG)) == 2


@pytest.mark.django_db
def test_growing_delays_per_client_address(shared_cache: str, clock: Clock, user: User) -> None:
    # One address trying many accounts (password spraying): each account stays under its
    # own allowance, the address does not.
    for n in range(throttle.FREE_FAILURES_PER_ADDRESS):
        assert wait_asked(sign_in(f"guess{n}@example.com", WRONG, ip="203.0.113.50")) is None
    assert wait_asked(sign_in(user.email, PASSWORD, ip="203.0.113.50")) == 2
    # Someone else elsewhere is not affected, and the account itself is not held.
    assert sign_in(user.email, PASSWORD, ip="192.0.2.10").status_code == 302
    clock.advance(2)
    assert sign_in(user.email, PASSWORD, ip="203.0.113.50").status_code == 302


@pytest.mark.django_db
def test_successful_sign_ins_do_not_use_up_the_address_allowance(shared_cache: str, user: User) -> None:
    # An office behind one address signs in all day long without being slowed down.
    for _ in range(throttle.FREE_FAILURES_PER_ADDRESS + 3):
        assert sign_in(user.email, PASSWORD, ip="203.0.113.80").status_code == 302
    assert throttle.check(email="someone@example.com", ip="203.0.113.80").allowed


@pytest.mark.django_db
def test_an_unknown_email_gets_the_same_answers(shared_cache: str, clock: Clock, user: User) -> None:
    def run(email: str, ip: str) -> list[tuple[int, int | None, str]]:
        answers = []
        for step in range(7):
            response = sign_in(email, WRONG, ip=ip)
            page = response.content.decode().replace(email, "EMAIL")
            errors = re.findall(r'<div class="alert alert--error" role="alert">(.*?)</div>', page, re.S)
            answers.append((response.status_code, wait_asked(response), "".join(errors)))
            if step == 5:
                clock.advance(4)
        return answers

    known = run(user.email, "198.51.100.1")
    unknown = run("nobody@example.com", "198.51.100.2")
    assert known == unknown
    assert [wait for _, wait, _ in known] == [None, None, None, None, 2, 2, None]
    assert SecurityEvent.objects.filter(code="account:signin:throttled", user=None).count() == 2


@pytest.mark.django_db
def test_attempts_in_flight_count_before_any_password_is_checked(shared_cache: str) -> None:
    # Parallel requests all start before any of them finishes: each is counted as it starts.
    verdicts = [throttle.begin_attempt(email="ada@example.com", ip="198.51.100.9") for _ in range(10)]
    assert [v.allowed for v in verdicts] == [True] * 4 + [False] * 6
    throttle.attempt_succeeded(email="ada@example.com", ip="198.51.100.9")
    assert throttle.check(email="ada@example.com", ip="198.51.100.9").allowed


@pytest.mark.django_db
def test_an_attempt_that_cannot_take_its_lock_is_refused_not_let_through(
    shared_cache: str, monkeypatch: Any
) -> None:
    # Another process holds the account's lock (a flood of parallel guesses does exactly
    # this). Going on without it would let the attempt past the count; it is refused instead.
    monkeypatch.setattr(throttle, "LOCK_WAIT_SECONDS", 0.05)  # not three seconds of waiting
    email, ip = "ada@example.com", "198.51.100.9"
    assert cache.add(f"{throttle._account_key(email)}:lock", 1, throttle.LOCK_SECONDS)

    verdict = throttle.begin_attempt(email=email, ip=ip)

    assert (verdict.allowed, verdict.retry_after) == (False, 1)
    assert cache.get(throttle._account_key(email)) is None  # and nothing was counted


# --- Shared by processes -------------------------------------------------------------


@pytest.fixture(params=["database", "redis"])
def app_processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of separate app processes sharing one cache: a migrated SQLite file's
    database cache, or Redis."""
    env = {
        **os.environ,
        "THRESHOLD_VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("THRESHOLD_DATABASE_URL", None)
    env.pop("THRESHOLD_REDIS_URL", None)
    if request.param == "redis":
        env["THRESHOLD_REDIS_URL"] = redis_url()
        yield env
        return
    with _throwaway_database(tmp_path) as url:
        env["THRESHOLD_DATABASE_URL"] = url
        subprocess.run(
            [sys.executable, "-m", "threshold.manage", "migrate", "--verbosity", "0"],
            env=env,
            check=True,
            timeout=120,
        )
        yield env


@contextmanager
def _throwaway_database(tmp_path: Path) -> Iterator[str]:
    """A database of the kind this run tests (SQLite file, or PostgreSQL beside the test database)."""
    configured = os.environ.get("THRESHOLD_DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'shared.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(configured)
    name = f"threshold_throttle_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.verification.throttle_worker", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, int]:
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture
def fresh_sign_in(app_processes: dict[str, str]) -> Iterator[tuple[str, str]]:
    """An email and address no earlier run has used; their Redis keys are removed afterwards."""
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    yield email, ip
    if "THRESHOLD_REDIS_URL" in app_processes:
        import redis

        client = redis.Redis.from_url(app_processes["THRESHOLD_REDIS_URL"])
        # The app's KEY_PREFIX is "threshold", cache key version 1.
        for key in (throttle._account_key(email), throttle._address_key(ip)):
            client.delete(f"threshold:1:{key}")
        client.close()


def test_two_processes_share_the_count_even_when_they_race(
    app_processes: dict[str, str], fresh_sign_in: tuple[str, str], tmp_path: Path
) -> None:
    email, ip = fresh_sign_in
    ready = tmp_path / "ready"
    ready.mkdir()
    # Both processes release their ten threads together, however long each took to start.
    racers = [_start(app_processes, email, ip, "10", str(ready), "2") for _ in range(2)]
    results = [_result(racer) for racer in racers]
    # Twenty attempts at once from two processes: exactly the four free ones get through.
    assert sum(r["allowed"] for r in results) == throttle.FREE_FAILURES_PER_ACCOUNT
    assert sum(r["refused"] for r in results) == 20 - throttle.FREE_FAILURES_PER_ACCOUNT
    # And a third process, later, reads the same count.
    later = _result(_start(app_processes, email, ip, "0", str(ready), "0"))
    assert later == {"failures": throttle.FREE_FAILURES_PER_ACCOUNT}


def test_send_limits_hold_exactly_under_parallel_use(
    app_processes: dict[str, str], fresh_sign_in: tuple[str, str], tmp_path: Path
) -> None:
    # The fixed-window limits on text messages and uploads: "1 a minute" means one, even for
    # twenty requests at once from two processes.
    key = f"send-test:{uuid.uuid4().hex[:8]}"
    ready = tmp_path / "ready"
    ready.mkdir()
    racers = [_start(app_processes, key, "-", "10", str(ready), "2", "send") for _ in range(2)]
    results = [_result(racer) for racer in racers]
    assert sum(r["allowed"] for r in results) == 1
    assert sum(r["refused"] for r in results) == 19
