"""The Security info page: every method with its facts, the status line, adding and the nav."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone

from tests.security.conftest import Commits, Person, add_passkey, turn_on_two_step
from tests.security.softauthn import SoftAuthenticator
from threshold.accounts.models import PhoneNumber
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.services.recovery_codes import use_recovery_code

pytestmark = pytest.mark.django_db


def page(person: Person) -> str:
    response = person.client.get("/security/")
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_navigation_leads_to_security_info(person: Person) -> None:
    html = person.client.get("/").content.decode()
    assert '<a href="/security/">Security info</a>' in html or 'href="/security/"' in html
    assert 'href="/security/" aria-current="page">Security info' in page(person)
    assert (
        'aria-current="page">Security info'
        in person.client.get("/accounts/password/change/").content.decode()
    )


def test_a_new_account_is_told_to_add_a_method(person: Person) -> None:
    html = page(person)
    assert "Only your password protects your account" in html
    assert "Password" in html and "Last changed" in html
    assert 'href="/security/add/"' in html and "Add sign-in method" in html
    assert "No sign-in method besides your password yet" in html


def test_every_method_shows_kind_name_added_last_used_and_phishing_resistance(
    user_with_totp: Person, commits: Commits
) -> None:
    html = page(user_with_totp)
    assert "Two-step verification is off" in html and "Turn on two-step verification" in html
    assert "<strong>Phone app</strong>" in html
    assert "Authenticator app · Added" in html and "Not used yet" in html
    assert "Not phishing-resistant" in html
    assert '<span class="badge">Default</span>' in html

    # A passkey saved through allauth.mfa's add page is listed, marked phishing-resistant;
    # a security key without a PIN is listed as one.
    add_passkey(user_with_totp.client, user_with_totp.authenticator, commits, name="iPhone")
    add_passkey(user_with_totp.client, SoftAuthenticator(), commits, name="YubiKey 5", passwordless=False)
    html = page(user_with_totp)
    assert "<strong>iPhone</strong>" in html and "<strong>YubiKey 5</strong>" in html
    assert "Passkey · Added" in html and "Security key · Added" in html
    assert html.count('<span class="badge badge--success">Phishing-resistant</span>') == 2
    passkey = Authenticator.objects.get(
        user=user_with_totp.user, type=Authenticator.Type.WEBAUTHN, data__name="iPhone"
    )
    assert SignInMethod.objects.get(authenticator=passkey).kind == MethodKind.PASSKEY


def test_the_status_line_names_the_one_next_step(user_with_two_step: Person, commits: Commits) -> None:
    assert "Your account is well protected" in page(user_with_two_step)
    for code in user_with_two_step.recovery_codes[:8]:
        use_recovery_code(user=user_with_two_step.user, request=None, code=code)
    html = page(user_with_two_step)
    assert "You have 2 recovery codes left" in html and "Get new recovery codes" in html


def test_text_messages_alone_are_called_the_weakest(person: Person, commits: Commits) -> None:
    phone = PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    turn_on_two_step(person.client, commits)
    html = page(person)
    assert "Text messages are your only method" in html
    assert "Text messages are the weakest method" in html


def test_add_sign_in_method_offers_each_kind_the_account_may_add(person: Person, commits: Commits) -> None:
    html = person.client.get("/security/add/").content.decode()
    assert 'href="/accounts/2fa/totp/activate/"' in html
    assert "Text messages are the weakest method" in html
    assert "Verify a phone number first" in html
    from tests.security.conftest import add_authenticator_app

    add_authenticator_app(person.client, commits)
    PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    html = person.client.get("/security/add/").content.decode()
    assert 'href="/accounts/2fa/totp/activate/"' not in html  # one authenticator app per account
    assert 'href="/security/add/text-message/"' in html


def test_security_info_needs_a_signed_in_person(client: Any, db: Any) -> None:
    assert client.get("/security/")["Location"].startswith("/accounts/login/")


def test_the_not_me_page_helps_secure_the_account(person: Person, client: Any) -> None:
    page = client.get("/security/not-me/").content.decode()
    assert "Reset your password by email" in page and "Review sign-in methods" in page
    signed_in = person.client.get("/security/not-me/").content.decode()
    assert 'href="/accounts/password/change/"' in signed_in
    assert 'action="/sign-out-everywhere/"' in signed_in
