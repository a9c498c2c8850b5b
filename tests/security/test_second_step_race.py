"""Parallel wrong answers at the second step: the limit holds exactly, on either shared cache.

The requests are real ones, each from its own browser and its own database connection,
released together: what an attacker who knows the password does to guess a code.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pyotp
import pytest
from django.db import connection, connections

from tests.conftest import Clock, make_user
from tests.security.conftest import (
    Person,
    add_authenticator_app,
    browser,
    sign_in,
    turn_on_two_step,
    verify,
)
from tests.security.test_replay_across_processes import _NoCommitCapture
from threshold.activity.models import SecurityEvent
from threshold.verification import throttle

PARALLEL = 40


def _wrong_code(secret: str) -> str:
    """A code the authenticator app does not show now, nor a step either side."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    live = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(
        code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in live
    )


def _race(clients: list[Any], code: str) -> list[int]:
    go = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def answer(client: Any) -> None:
        try:
            go.wait(timeout=60)
            status = verify(client, code).status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_are_checked_no_more_than_the_limit(shared_cache: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("parallel requests need a database many connections share: run on PostgreSQL")
    user = make_user("racer@example.com", given_name="Rosa")
    owner = browser()
    sign_in(owner, user)
    secret = add_authenticator_app(owner, _NoCommitCapture())
    turn_on_two_step(owner, _NoCommitCapture())

    # Forty browsers that each got past the password and now face the second step.
    clients = []
    for _ in range(PARALLEL):
        client = browser()
        assert sign_in(client, user)["Location"] == "/security/verify/"
        clients.append(client)

    statuses = _race(clients, _wrong_code(secret))

    assert len(statuses) == PARALLEL
    checked = SecurityEvent.objects.filter(user=user, code="account:signin:second_step:failure").count()
    held = SecurityEvent.objects.filter(user=user, code="account:signin:second_step:throttled").count()
    assert checked == throttle.FREE_SECOND_STEP_FAILURES, (checked, held)
    assert held == PARALLEL - throttle.FREE_SECOND_STEP_FAILURES


@pytest.mark.django_db
def test_codes_to_confirm_its_you_share_the_second_step_limit(user_with_totp: Person, clock: Clock) -> None:
    client, secret = user_with_totp.client, user_with_totp.secret
    wrong = _wrong_code(secret)
    for _ in range(throttle.FREE_SECOND_STEP_FAILURES):
        answer = client.post("/accounts/2fa/reauthenticate/", {"code": wrong})
        assert answer.status_code == 200 and "Too many wrong codes" not in answer.content.decode()

    # Even the right code now waits, as it would at the second step of a sign-in.
    answer = client.post("/accounts/2fa/reauthenticate/", {"code": pyotp.TOTP(secret).now()})
    assert answer.status_code == 200
    assert "Too many wrong codes. Wait 2 seconds and try again." in answer.content.decode()
    clock.advance(2)
    assert client.post("/accounts/2fa/reauthenticate/", {"code": pyotp.TOTP(secret).now()}).status_code == 302
