from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from tests.security.conftest import Person


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def account_pending_closure(person: Person, commits: Any) -> Person:  # noqa: F811 - fixtures below
    """An account closed through its page, 30 days to go, signed out everywhere."""
    with commits(execute=True):
        response = person.client.post("/privacy/close/", {"days": "30", "reason": "privacy"})
    assert response["Location"] == "/account-closing/", response
    person.user.refresh_from_db()
    return person


def move_window_end(person: Person) -> None:  # noqa: F811 - a value, not the fixture
    """The account's window ended a minute ago."""
    from threshold.accounts.models import User

    User.objects.filter(pk=person.user.pk).update(closes_at=timezone.now() - timedelta(minutes=1))


from tests.security.conftest import (  # noqa: E402, F401 - shared security states
    commits,
    person,
    sms_outbox,
    user_with_totp,
    user_with_two_step,
    verified_phone,
)
