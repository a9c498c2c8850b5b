from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress

from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db


def sign_up(client: Any, email: str = "grace@example.com", password: str = PASSWORD) -> Any:
    return client.post(
        "/accounts/signup/",
        {"email": email, "password1": password, "given_name": "Grace", "family_name": "Hopper"},
    )


def test_sign_up_verifies_the_email_by_code_then_signs_in(client: Any, mailbox: Mailbox) -> None:
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="grace@example.com")
    assert (user.given_name, user.family_name) == ("Grace", "Hopper")
    assert not EmailAddress.objects.get(email="grace@example.com").verified
    assert client.get("/").status_code == 302  # not signed in before verifying

    code = mailbox.last_code("grace@example.com")
    response = client.post("/accounts/confirm-email/", {"code": code})
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="grace@example.com").verified
    overview = client.get("/")
    assert overview.status_code == 200
    assert "Welcome, Grace" in overview.content.decode()
    codes = set(SecurityEvent.objects.filter(user=user).values_list("code", flat=True))
    assert {"account:create", "account:email:verify", "account:signin:success"} <= codes


def test_a_wrong_code_does_not_verify(client: Any, mailbox: Mailbox) -> None:
    sign_up(client)
    code = mailbox.last_code("grace@example.com")
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    response = client.post("/accounts/confirm-email/", {"code": wrong})
    assert response.status_code == 200
    assert not EmailAddress.objects.get(email="grace@example.com").verified


def test_sign_up_refuses_a_leaked_password_and_saves_nothing(client: Any) -> None:
    response = sign_up(client, password="password123")
    assert response.status_code == 200
    assert "leaked passwords" in response.content.decode()
    assert not User.objects.filter(email="grace@example.com").exists()


def test_sign_in_and_keep_me_signed_in(client: Any, user: User) -> None:
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD, "remember": "on"})
    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == 30 * 24 * 3600


def test_sign_in_without_keep_me_signed_in_ends_with_the_browser(client: Any, user: User) -> None:
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert client.session.get_expire_at_browser_close() is True


def test_sign_in_rotates_the_session_key(client: Any, user: User) -> None:
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert client.session.session_key != before


def test_wrong_password_is_refused_and_recorded(client: Any, user: User) -> None:
    response = client.post("/accounts/login/", {"login": user.email, "password": "not the password"})
    assert response.status_code == 200
    event = SecurityEvent.objects.get(code="account:signin:failure")
    assert event.user == user
    assert event.result == "failure"


def test_sign_out_needs_a_post(signed_in_client: Any) -> None:
    assert signed_in_client.get("/accounts/logout/").status_code == 200  # a confirmation page
    assert signed_in_client.get("/").status_code == 200
    signed_in_client.post("/accounts/logout/")
    assert signed_in_client.get("/").status_code == 302


def test_sign_out_everywhere_ends_other_sessions(client: Any, user: User) -> None:
    from django.test import Client

    other = Client()
    other.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post("/sign-out-everywhere/")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    assert SecurityEvent.objects.filter(code="account:signout:everywhere", user=user).exists()


def test_sign_out_everywhere_can_include_this_browser(client: Any, user: User) -> None:
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    client.post("/sign-out-everywhere/", {"include_current": "on"})
    assert client.get("/").status_code == 302


def test_unverified_account_cannot_sign_in(client: Any, db: Any) -> None:
    make_user("new@example.com", verified=False)
    response = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302
