"""Re-entering the password (or a second method) gives the session a new key."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from tests.conftest import PASSWORD
from tests.security.conftest import Person, oathtool_code
from threshold.devices.models import Device

pytestmark = pytest.mark.django_db


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_reauthenticating_with_the_password_rotates_the_session_key(person: Person) -> None:
    client = person.client
    before = session_key(client)
    assert client.get("/devices/").status_code == 200  # the session is listed and tied to its device
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": "/devices/"})
    assert response.status_code == 302 and response["Location"] == "/devices/"
    after = session_key(client)
    assert after != before
    # SECURITY: a key someone learned before the re-authentication is worth nothing now.
    assert not SessionStore().exists(before)
    assert (
        Client(HTTP_HOST="localhost", cookies={settings.SESSION_COOKIE_NAME: before}).get("/").status_code
        == 302
    )
    # Still signed in, and the sessions list and the device follow the new key.
    page = client.get("/devices/")
    assert page.status_code == 200 and "1 active session" in page.content.decode()
    row = UserSession.objects.get(user=person.user)
    assert row.session_key == after
    assert row.data["device"] == Device.objects.get(user=person.user).pk


def test_a_wrong_password_keeps_the_key(person: Person) -> None:
    before = session_key(person.client)
    response = person.client.post("/accounts/reauthenticate/", {"password": "not it"})
    assert response.status_code == 200
    assert session_key(person.client) == before


def test_reauthenticating_with_an_authenticator_app_rotates_the_session_key(
    user_with_totp: Person, commits: Any
) -> None:
    client = user_with_totp.client
    before = session_key(client)
    with commits(execute=True):
        # The next step's code: the one that set the app up is refused a second time.
        code = oathtool_code(user_with_totp.secret, at=time.time() + 30)
        response = client.post("/accounts/2fa/reauthenticate/", {"code": code})
    assert response.status_code == 302, response.content[:600]
    after = session_key(client)
    assert after != before and not SessionStore().exists(before)
    assert UserSession.objects.filter(user=user_with_totp.user, session_key=after).exists()
    assert client.get("/devices/").status_code == 200
