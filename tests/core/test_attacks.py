"""Baseline attacks on the entrance: open redirects and cross-site request forgery."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db

ELSEWHERE = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "https://evil.example",
    "http:evil.example",
    "https:///evil.example",
    "/\t/evil.example",
    " //evil.example",
]


def is_local(location: str) -> bool:
    return location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location


@pytest.mark.parametrize("target", ELSEWHERE)
def test_sign_in_never_sends_the_browser_elsewhere(client: Client, user: User, target: str) -> None:
    page = client.get("/accounts/login/", {"next": target}).content.decode()
    assert "evil.example" not in page.split('name="next"')[0]  # not in any link, e.g. to sign-up
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", ELSEWHERE)
def test_sign_out_never_sends_the_browser_elsewhere(signed_in_client: Client, target: str) -> None:
    response = signed_in_client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert signed_in_client.get("/").status_code == 302  # and the sign-out did happen


def test_a_local_next_is_followed(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD, "next": "/your-info/"}
    )
    assert response["Location"] == "/your-info/"
    assert is_local(response["Location"])


# --- CSRF ------------------------------------------------------------------------------


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def token_from(client: Client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def assert_friendly_refusal(response: Any) -> None:
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>This form has expired</h1>" in page
    assert "Nothing was changed." in page
    assert 'href="/static/threshold/threshold.css"' in page


def test_sign_in_needs_the_csrf_token(csrf_client: Client, user: User) -> None:
    response = csrf_client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert_friendly_refusal(response)
    assert not SecurityEvent.objects.filter(code="account:signin:success").exists()
    # With the token from the page it works, so the refusal above was the CSRF check.
    token = token_from(csrf_client, "/accounts/login/")
    response = csrf_client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_profile_save_needs_the_csrf_token(csrf_client: Client, user: User) -> None:
    csrf_client.force_login(user)
    data = {"section": "profile", "given_name": "Mallory", "family_name": "", "display_name": ""}
    assert_friendly_refusal(csrf_client.post("/your-info/", data))
    user.refresh_from_db()
    assert user.given_name == "Ada"
    token = token_from(csrf_client, "/your-info/")
    assert csrf_client.post("/your-info/", {**data, "csrfmiddlewaretoken": token}).status_code == 302
    user.refresh_from_db()
    assert user.given_name == "Mallory"


def test_sign_out_everywhere_needs_the_csrf_token(csrf_client: Client, user: User) -> None:
    other = Client()
    other.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    csrf_client.force_login(user)
    assert_friendly_refusal(csrf_client.post("/sign-out-everywhere/", {"include_current": "on"}))
    assert other.get("/").status_code == 200  # nobody was signed out
    assert csrf_client.get("/").status_code == 200
    assert not SecurityEvent.objects.filter(code="account:signout:everywhere").exists()


def test_a_token_from_another_browser_does_not_help(csrf_client: Client, user: User) -> None:
    stolen = token_from(Client(), "/accounts/login/")
    token_from(csrf_client, "/accounts/login/")
    response = csrf_client.post(
        "/accounts/login/", {"login": user.email, "password": PASSWORD, "csrfmiddlewaretoken": stolen}
    )
    assert_friendly_refusal(response)


# --- Cookies --------------------------------------------------------------------------------


def test_session_and_csrf_cookies_are_http_only_and_same_site_lax(client: Client, user: User) -> None:
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD, "remember": "on"})
    session = response.cookies["threshold_session"]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert session["path"] == "/"
    csrf = client.cookies["csrftoken"]
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"
    # Plain http (development): Secure would make the browser drop the cookies.
    assert not session["secure"]
