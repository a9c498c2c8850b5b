"""Authenticator apps: set up through allauth.mfa's page, checked against independent TOTP code."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator

from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    oathtool_code,
    pyotp_code,
    read_secret,
)
from threshold.activity.models import SecurityEvent
from threshold.security.models import MethodKind, SignInMethod

pytestmark = pytest.mark.django_db


def test_set_up_page_shows_a_qr_code_and_the_key_without_inline_script(person: Person) -> None:
    page = person.client.get("/accounts/2fa/totp/activate/")
    html = page.content.decode()
    assert page.status_code == 200
    match = re.search(r'<img class="qr" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert match, "the QR code is a data: URI image"
    svg = base64.b64decode(match.group(1)).decode()
    assert svg.startswith("<svg") and "style" not in svg
    assert "<script>" not in html and "style=" not in html
    secret = read_secret(html)
    assert len(secret) == 32  # 160 bits, base32
    assert "script-src" in page["Content-Security-Policy"]


def test_the_secret_stays_the_same_when_the_page_is_reloaded(person: Person) -> None:
    first = read_secret(person.client.get("/accounts/2fa/totp/activate/").content.decode())
    second = read_secret(person.client.get("/accounts/2fa/totp/activate/").content.decode())
    assert first == second


def test_a_code_from_oathtool_saves_the_app_as_a_sign_in_method(person: Person, commits: Commits) -> None:
    secret = add_authenticator_app(person.client, commits, name="Pixel 9")
    method = SignInMethod.objects.get(user=person.user)
    assert (method.kind, method.name) == (MethodKind.AUTHENTICATOR_APP, "Pixel 9")
    assert method.authenticator is not None and method.authenticator.type == Authenticator.Type.TOTP
    event = SecurityEvent.objects.get(user=person.user, code="account:method:add")
    assert event.details["kind"] == "authenticator_app"
    # The next set-up (after removing this one) starts from a new secret.
    assert person.client.session.get("threshold.security.authenticator_app_setup") is None
    assert secret


def test_a_code_from_pyotp_is_accepted_too(person: Person, commits: Commits) -> None:
    page = person.client.get("/accounts/2fa/totp/activate/")
    secret = read_secret(page.content.decode())
    with commits(execute=True):
        response = person.client.post("/accounts/2fa/totp/activate/", {"code": pyotp_code(secret)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    assert person.client.get(response["Location"])["Location"] == "/security/"
    assert SignInMethod.objects.get(user=person.user).name == "Authenticator app"


def test_the_code_must_match_the_secret_shown_before_the_reload(person: Person, commits: Commits) -> None:
    secret = read_secret(person.client.get("/accounts/2fa/totp/activate/").content.decode())
    person.client.get("/accounts/2fa/totp/activate/")  # a reload
    with commits(execute=True):
        response = person.client.post("/accounts/2fa/totp/activate/", {"code": oathtool_code(secret)})
    assert response.status_code == 302


def test_a_wrong_code_saves_nothing(person: Person, commits: Commits) -> None:
    secret = read_secret(person.client.get("/accounts/2fa/totp/activate/").content.decode())
    wrong = f"{(int(oathtool_code(secret)) + 1) % 1_000_000:06d}"
    with commits(execute=True):
        response = person.client.post("/accounts/2fa/totp/activate/", {"code": wrong})
    assert response.status_code == 200
    assert "That code didn&#x27;t work" in response.content.decode()
    assert not Authenticator.objects.filter(user=person.user).exists()
    assert not SignInMethod.objects.filter(user=person.user).exists()


def test_adding_an_app_needs_a_recent_sign_in(person: Person, clock: Any) -> None:
    clock.advance(11 * 60)
    response = person.client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
