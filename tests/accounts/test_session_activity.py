from __future__ import annotations

from typing import Any

import pytest
from allauth.usersessions.models import UserSession

from threshold.accounts.models import User

pytestmark = pytest.mark.django_db


def _row(client: Any) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def test_pages_within_the_interval_do_not_write_last_seen(signed_in_client: Any, user: User) -> None:
    assert signed_in_client.get("/").status_code == 200
    seen = _row(signed_in_client).last_seen_at
    assert signed_in_client.get("/").status_code == 200
    assert signed_in_client.get("/your-info/").status_code == 200
    assert _row(signed_in_client).last_seen_at == seen


def test_a_new_browser_or_address_is_recorded_at_once(signed_in_client: Any, user: User) -> None:
    signed_in_client.get("/", HTTP_USER_AGENT="Browser A")
    assert _row(signed_in_client).user_agent == "Browser A"
    signed_in_client.get("/", HTTP_USER_AGENT="Browser B")
    assert _row(signed_in_client).user_agent == "Browser B"
    signed_in_client.get("/", HTTP_USER_AGENT="Browser B", REMOTE_ADDR="203.0.113.9")
    assert _row(signed_in_client).ip == "203.0.113.9"


def test_last_seen_moves_once_the_interval_has_passed(
    signed_in_client: Any, user: User, settings: Any
) -> None:
    signed_in_client.get("/")
    seen = _row(signed_in_client).last_seen_at
    settings.SESSION_ACTIVITY_INTERVAL = 0
    signed_in_client.get("/")
    assert _row(signed_in_client).last_seen_at > seen
