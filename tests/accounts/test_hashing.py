from __future__ import annotations

import os
import sys
import threading
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from tests.conftest import PASSWORD
from threshold.accounts.hashers import HashingBusy, HashingPool, hashing_pool
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db  # the autouse cache fixture uses the database cache


def test_passwords_are_argon2id_at_the_owasp_minimum() -> None:
    encoded = make_password("a long enough passphrase")
    params = identify_hasher(encoded).params()  # type: ignore[attr-defined]
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19 * 1024, 2, 1)
    assert check_password("a long enough passphrase", encoded)
    assert not check_password("another passphrase", encoded)


def test_hashes_run_on_the_pool_threads_at_a_lower_priority() -> None:
    pool = hashing_pool()
    seen: dict[str, Any] = {}

    def probe() -> None:
        seen["thread"] = threading.current_thread().name
        if sys.platform.startswith("linux"):
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    pool.run(probe)
    assert seen["thread"].startswith("threshold-hashing")
    if "nice" in seen:
        assert seen["nice"] >= os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_pool_turns_requests_away_beyond_its_queue() -> None:
    pool = HashingPool(slots=1, queue=1)
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "done"

    first = threading.Thread(target=pool.run, args=(slow,))
    first.start()
    assert started.wait(5)
    waiting = threading.Thread(target=pool.run, args=(lambda: "waited",))
    waiting.start()
    for _ in range(100):
        if pool.pending == 2:
            break
        threading.Event().wait(0.01)
    assert pool.full
    with pytest.raises(HashingBusy):
        pool.run(lambda: "too many")
    release.set()
    first.join(5)
    waiting.join(5)
    assert pool.pending == 0
    assert pool.run(lambda: "free again") == "free again"


def test_a_full_hashing_queue_answers_503_before_checking_anything(
    client: Any, user: User, monkeypatch: Any
) -> None:
    monkeypatch.setattr(hashing_pool(), "limit", 0)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "Too many sign-ins at once" in response.content.decode()
    assert not SecurityEvent.objects.filter(code__startswith="account:signin").exists()

    monkeypatch.setattr(hashing_pool(), "limit", 7)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_hashing_busy_inside_the_view_is_also_a_503(client: Any, user: User, monkeypatch: Any) -> None:
    """The check before the view can race with other requests; the pool's own check is final."""

    def busy(*args: Any) -> None:
        raise HashingBusy

    monkeypatch.setattr(hashing_pool(), "run", busy)
    response = client.post("/accounts/login/", {"login": "nobody@example.com", "password": "whatever 123"})
    assert response.status_code == 503
    assert not SecurityEvent.objects.filter(code__startswith="account:signin").exists()


def test_a_sign_in_is_counted_from_before_its_view_until_its_answer(
    client: Any, user: User, monkeypatch: Any
) -> None:
    pool = hashing_pool()
    original, seen = pool.run, []

    def spy(function: Any, *args: Any) -> Any:
        seen.append(pool.pending)
        return original(function, *args)

    monkeypatch.setattr(pool, "run", spy)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert seen == [1]
    assert pool.pending == 0
