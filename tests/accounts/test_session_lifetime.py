"""How long a session lasts: until the browser closes and an idle time, or "Keep me signed in"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.security.conftest import browser, sign_in_with_passkey
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db


def sign_in(user: User, *, remember: bool = False) -> Client:
    client = Client()
    data = {"login": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "on"
    response = client.post("/accounts/login/", data)
    assert response.status_code == 302, response.content[:500]
    return client


def session_cookie(client: Client) -> Any:
    return client.cookies[settings.SESSION_COOKIE_NAME]


def stored_expiry(client: Client) -> timedelta:
    key = session_cookie(client).value
    return Session.objects.get(session_key=key).expire_date - timezone.now()


def test_without_keep_me_signed_in_the_session_ends_with_the_browser_and_after_idle_hours(
    user: User, clock: Any
) -> None:
    client = sign_in(user)
    morsel = session_cookie(client)
    assert not morsel["max-age"] and not morsel["expires"], "a cookie for this browser session only"
    # SECURITY: on the server too, the session is kept for the idle time, not 30 days.
    assert stored_expiry(client) <= timedelta(hours=12, minutes=1)

    clock.advance(11 * 3600)
    assert client.get("/").status_code == 200  # in use: the idle time starts again
    clock.advance(11 * 3600)
    assert client.get("/").status_code == 200
    clock.advance(12 * 3600 + 120)
    response = client.get("/devices/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302, "signed out, not just redirected"
    assert SecurityEvent.objects.filter(user=user, code="account:signout").exists()


def test_the_idle_time_is_a_setting(user: User, clock: Any, settings: Any) -> None:
    settings.SESSION_IDLE_SECONDS = 2 * 3600
    client = sign_in(user)
    assert stored_expiry(client) <= timedelta(hours=2, minutes=1)
    clock.advance(2 * 3600 + 120)
    assert client.get("/").status_code == 302


def test_keep_me_signed_in_keeps_30_days_without_an_idle_limit(user: User, clock: Any) -> None:
    client = sign_in(user, remember=True)
    assert int(session_cookie(client)["max-age"]) == 30 * 24 * 3600
    assert stored_expiry(client) > timedelta(days=29)
    clock.advance(3 * 24 * 3600)
    assert client.get("/").status_code == 200


def test_the_idle_check_costs_no_query(user: User, clock: Any) -> None:
    client = sign_in(user)
    client.get("/")
    with CaptureQueriesContext(connection) as first:
        client.get("/")
    clock.advance(10)  # still inside the minute in which "last seen" is not written again
    with CaptureQueriesContext(connection) as second:
        client.get("/")
    assert len(second) == len(first)
    assert not [q for q in second.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


def test_a_sign_in_without_the_choice_lasts_only_the_browser_session(
    user_with_passkey: Any, clock: Any
) -> None:
    client = browser()
    assert sign_in_with_passkey(client, user_with_passkey.authenticator).status_code == 302
    morsel = session_cookie(client)
    assert not morsel["max-age"] and not morsel["expires"]
    assert stored_expiry(client) <= timedelta(hours=12, minutes=1)
    clock.advance(12 * 3600 + 120)
    assert client.get("/").status_code == 302
