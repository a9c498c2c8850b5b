"""A passwordless account: remove the password, sign in with a passkey alone,
keep the last passkey, and set a password again."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.conftest import PASSWORD, Mailbox
from tests.security.conftest import (
    Commits,
    Person,
    add_passkey,
    browser,
    is_signed_in,
    sign_in,
    sign_in_with_passkey,
)
from tests.security.softauthn import SoftAuthenticator
from threshold.activity.models import SecurityEvent
from threshold.core.errors import FreshSignInRequired, Refused
from threshold.devices.models import TrustedDevice
from threshold.devices.services import trust_this_device
from threshold.security.models import SignInMethod
from threshold.security.services.methods import remove_sign_in_method
from threshold.security.services.passwords import remove_password

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 77"


def text(response: Any) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def alerts(mailbox: Mailbox, address: str) -> list[str]:
    return [Mailbox.text(m) for m in mailbox.to(address) if "Security alert" in str(m["Subject"])]


def test_removing_the_password_needs_a_passkey_first(person: Person, commits: Commits) -> None:
    assert "Remove password" not in text(person.client.get("/security/"))
    page = text(person.client.get("/security/password/remove/"))
    assert "Add a passkey that signs you in on its own first" in page
    person.client.post("/security/password/remove/")
    person.user.refresh_from_db()
    assert person.user.has_usable_password()

    # A security key that is only a second step does not count.
    add_passkey(
        person.client, SoftAuthenticator(user_verification=False), commits, name="Key", passwordless=False
    )
    assert "Remove password" not in text(person.client.get("/security/"))
    with pytest.raises(Refused) as refused:
        remove_password(user=person.user, request=person.client.get("/").wsgi_request)
    assert refused.value.code == "no_passkey"


def test_with_a_passkey_the_password_can_be_removed(
    user_with_passkey: Person, commits: Commits, mailbox: Mailbox
) -> None:
    person = user_with_passkey
    elsewhere = browser()
    sign_in(elsewhere, person.user)
    assert is_signed_in(elsewhere)
    info = text(person.client.get("/security/"))
    assert 'href="/security/password/remove/"' in info
    page = text(person.client.get("/security/password/remove/"))
    assert "Without a password, you sign in with a passkey alone" in page
    assert "Phone passkey" in page and "Every other browser and device" in page

    mailbox.clear()
    with commits(execute=True):
        response = person.client.post("/security/password/remove/", follow=True)
    assert "Your password was removed. You now sign in with a passkey." in text(response)
    assert "1 other session was signed out." in text(response)
    person.user.refresh_from_db()
    assert not person.user.has_usable_password()

    # This session stays; the others end; the old password opens nothing.
    assert is_signed_in(person.client)
    assert not is_signed_in(elsewhere)
    assert sign_in(browser(), person.user).status_code == 200
    visitor = browser()
    sign_in_with_passkey(visitor, person.authenticator)
    assert is_signed_in(visitor)

    event = SecurityEvent.objects.filter(user=person.user, code="account:password:remove").get()
    assert event.details["sessions_ended"] == 1
    (alert,) = alerts(mailbox, person.user.email)
    assert "The password of your account was removed: you now sign in with a passkey" in alert
    assert "If this wasn't you, secure your account now:" in alert


def test_the_security_info_page_explains_a_passwordless_account(passwordless_user: Person) -> None:
    page = text(passwordless_user.client.get("/security/"))
    assert "No password: you sign in with a passkey" in page
    assert "Your account has no password: you sign in with a passkey" in page
    assert "To remove your last passkey, set a password or add another passkey first." in page
    assert 'href="/accounts/password/set/"' in page and "Set a password" in page
    assert "You sign in with one passkey" in page  # the next step: a second passkey


def test_the_last_passkey_of_a_passwordless_account_cannot_be_removed(
    passwordless_user: Person, commits: Commits
) -> None:
    person = passwordless_user
    method = person.passkey
    assert method is not None
    page = text(person.client.get(f"/security/methods/{method.public_id}/remove/"))
    assert "This is the only passkey you sign in with, and your account has no password." in page
    person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert SignInMethod.objects.filter(pk=method.pk).exists()
    with pytest.raises(Refused) as refused:
        remove_sign_in_method(
            user=person.user,
            request=person.client.get("/").wsgi_request,
            method=method,
            sign_out_others=False,
        )
    assert refused.value.code == "last_passkey"

    # With a second passkey, either may go.
    add_passkey(person.client, SoftAuthenticator(), commits, name="Laptop")
    with commits(execute=True):
        person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert not SignInMethod.objects.filter(pk=method.pk).exists()


def test_a_password_can_be_set_again(passwordless_user: Person, commits: Commits) -> None:
    person = passwordless_user
    assert person.client.get("/accounts/password/change/")["Location"] == "/accounts/password/set/"
    with commits(execute=True):
        response = person.client.post(
            "/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
    assert response.status_code == 302, text(response)[:2000]
    person.user.refresh_from_db()
    assert person.user.has_usable_password()
    assert SecurityEvent.objects.filter(user=person.user, code="account:password:change").exists()
    assert sign_in(browser(), person.user, NEW_PASSWORD)["Location"] == "/"
    assert "Remove password" in text(person.client.get("/security/"))


def test_removing_the_password_needs_a_recent_sign_in(user_with_passkey: Person, clock: Any) -> None:
    clock.advance(10 * 60 + 1)
    response = user_with_passkey.client.post("/security/password/remove/")
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    with pytest.raises(FreshSignInRequired):
        remove_password(user=user_with_passkey.user, request=None)
    user_with_passkey.user.refresh_from_db()
    assert user_with_passkey.user.has_usable_password()
    assert sign_in(browser(), user_with_passkey.user, PASSWORD)["Location"] == "/"


def test_removing_the_password_forgets_trusted_devices(user_with_passkey: Person, commits: Commits) -> None:
    person = user_with_passkey
    request = person.client.get("/").wsgi_request
    trust_this_device(request=request, user=person.user)
    with commits(execute=True):
        person.client.post("/security/password/remove/")
    assert not TrustedDevice.objects.filter(user=person.user, revoked_at__isnull=True).exists()


def test_without_a_passkey_at_hand_an_email_reset_still_gets_in(
    passwordless_user: Person, mailbox: Mailbox
) -> None:
    mailbox.clear()
    client = browser()
    client.post("/recover/password/", {"email": passwordless_user.user.email})
    response = client.post("/recover/password/send/", {"way": "email", "email": passwordless_user.user.email})
    assert response.status_code == 302
    code = mailbox.last_code(passwordless_user.user.email)
    assert client.post("/recover/password/code/", {"code": code})["Location"] == "/recover/password/new/"
    new_password = "a brand new passphrase 77"
    assert (
        client.post("/recover/password/new/", {"password1": new_password})["Location"] == "/accounts/login/"
    )
    assert sign_in(browser(), passwordless_user.user, new_password).status_code == 302
