"""After many failed passwords in a row, the password alone no longer signs the account in."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD, Mailbox, make_user
from tests.recovery.test_password_reset import NEW_PASSWORD, ask_by_email, choose_password, enter_code
from tests.security.conftest import Person, browser, is_signed_in, sign_in_with_passkey
from tests.security.conftest import sign_in as _sign_in
from threshold.accounts import services
from threshold.accounts.models import User
from threshold.activity.models import Result, SecurityEvent

pytestmark = pytest.mark.django_db

WRONG = "not the password at all"
LIMIT = 6


@pytest.fixture(autouse=True)
def _small_limit(settings: Any) -> None:
    settings.SIGN_IN_FAILURE_LIMIT = LIMIT


@pytest.fixture
def sign_in(clock: Any) -> Callable[..., Any]:
    """Each attempt after the throttle's longest wait (15 minutes), as a patient guesser would."""

    def attempt(client: Client, user: User, password: str = PASSWORD) -> Any:
        clock.advance(15 * 60 + 1)
        return _sign_in(client, user, password)

    return attempt


def failures(user: User) -> int:
    return User.objects.get(pk=user.pk).failed_sign_ins


def page(response: Any) -> str:
    """The sign-in page without what differs on every answer (the CSRF token)."""
    html = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_default_limit_is_100() -> None:
    assert django_settings.SIGN_IN_FAILURE_LIMIT == LIMIT  # this module's
    from threshold.config import settings as defaults

    assert defaults.SIGN_IN_FAILURE_LIMIT == 100


def test_the_count_is_kept_on_the_account_and_a_sign_in_starts_it_again(
    user: User, sign_in: Callable[..., Any]
) -> None:
    for _ in range(2):
        assert sign_in(browser(), user, WRONG).status_code == 200
    assert failures(user) == 2
    assert sign_in(browser(), user).status_code == 302
    assert failures(user) == 0


def test_after_the_limit_the_right_password_reads_as_a_wrong_one(
    user: User, mailbox: Mailbox, commits: Any, sign_in: Callable[..., Any]
) -> None:
    EmailAddress.objects.create(user=user, email="ada.other@example.net", verified=True)
    EmailAddress.objects.create(user=user, email="unverified@example.net", verified=False)
    with commits(execute=True):
        for _ in range(LIMIT):
            wrong = sign_in(browser(), user, WRONG)
    assert wrong.status_code == 200
    assert failures(user) == LIMIT

    client = browser()
    with commits(execute=True):
        right = sign_in(client, user)
    # SECURITY: to whoever is guessing, nothing changed: the same page and the same answer.
    assert right.status_code == 200
    assert page(right) == page(wrong)
    assert not is_signed_in(client)
    refused = SecurityEvent.objects.get(user=user, code="account:signin:password_stopped")
    assert refused.result == Result.BLOCKED

    # The owner is told once, at every verified address, and the event says so.
    stopped = SecurityEvent.objects.filter(user=user, code="account:password:stopped")
    assert stopped.count() == 1 and stopped.get().details["failures"] == LIMIT
    for address in (user.email, "ada.other@example.net"):
        told = [m for m in mailbox.to(address) if "no longer signs you in" in Mailbox.text(m)]
        assert len(told) == 1, address
        assert "/recover/password/" in Mailbox.text(told[0])
    assert not mailbox.to("unverified@example.net")


def test_the_refusal_does_the_same_work_as_a_wrong_password(user: User, sign_in: Callable[..., Any]) -> None:
    for _ in range(LIMIT):
        sign_in(browser(), user, WRONG)
    with CaptureQueriesContext(connection) as wrong:
        sign_in(browser(), user, WRONG)
    with CaptureQueriesContext(connection) as right:
        sign_in(browser(), user)
    assert len(right) == len(wrong)


def test_a_passkey_still_signs_in_and_a_reset_lifts_the_stop(
    user_with_passkey: Person, mailbox: Mailbox, commits: Any, sign_in: Callable[..., Any]
) -> None:
    owner_state = user_with_passkey
    for _ in range(LIMIT):
        sign_in(browser(), owner_state.user, WRONG)
    assert sign_in(browser(), owner_state.user).status_code == 200  # stopped

    owner = browser()
    assert sign_in_with_passkey(owner, owner_state.authenticator).status_code == 302
    assert is_signed_in(owner)
    assert failures(owner_state.user) == LIMIT + 1, "a passkey sign-in does not lift the stop"

    stranger = browser()
    ask_by_email(stranger, owner_state.user.email)
    enter_code(stranger, mailbox.last_code(owner_state.user.email))
    with commits(execute=True):
        assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert failures(owner_state.user) == 0
    fresh = browser()
    assert sign_in(fresh, owner_state.user, NEW_PASSWORD).status_code == 302 and is_signed_in(fresh)


def test_an_unknown_address_counts_nothing(db: Any) -> None:
    response = Client().post("/accounts/login/", {"login": "nobody@example.com", "password": WRONG})
    assert response.status_code == 200
    assert not SecurityEvent.objects.filter(code="account:password:stopped").exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_failures_at_the_limit_tell_the_owner_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every writer")
    user = make_user("race@example.com")
    User.objects.filter(pk=user.pk).update(failed_sign_ins=LIMIT - 5)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def fail() -> None:
        try:
            barrier.wait()
            services.note_password_failed(request=None, email=user.email)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fail) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert failures(user) == LIMIT + 7
    assert SecurityEvent.objects.filter(user=user, code="account:password:stopped").count() == 1
