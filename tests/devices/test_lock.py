"""Lock my account: every session ends, every trust ends, sign-in is refused until a reset."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession

from tests.conftest import PASSWORD
from tests.security.conftest import (
    OTHER_UA,
    Person,
    browser,
    is_signed_in,
    oathtool_code,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.activity.models import SecurityEvent
from threshold.devices.models import TrustedDevice

pytestmark = pytest.mark.django_db


def lock(person: Person, commits: Any) -> Any:
    assert person.client.get("/devices/lock/").status_code == 200
    with commits(execute=True):
        return person.client.post("/devices/lock/")


def test_locking_ends_every_session_and_mails_every_verified_address(
    person: Person, commits: Any, mailbox: Any
) -> None:
    EmailAddress.objects.create(user=person.user, email="ada.work@example.com", verified=True)
    EmailAddress.objects.create(user=person.user, email="unverified@example.com", verified=False)
    other = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(other, person.user)
    mailbox.clear()

    response = lock(person, commits)

    assert response["Location"] == "/account-locked/"
    assert not is_signed_in(person.client) and not is_signed_in(other)
    assert not UserSession.objects.filter(user=person.user).exists()
    person.user.refresh_from_db()
    assert person.user.is_locked
    event = SecurityEvent.objects.get(user=person.user, code="account:lock")
    assert event.details["sessions_ended"] == 2
    for address in (person.user.email, "ada.work@example.com"):
        messages = mailbox.to(address)
        assert len(messages) == 1, address
        assert "Your account was locked" in mailbox.text(messages[0])
        assert "reset your password" in mailbox.text(messages[0])
    assert not mailbox.to("unverified@example.com")
    page = person.client.get("/account-locked/").content.decode()
    assert "This account is locked" in page and 'href="/recover/password/"' in page


def test_a_locked_account_cannot_sign_in_with_the_right_password(person: Person, commits: Any) -> None:
    lock(person, commits)
    again = browser()
    response = sign_in(again, person.user)
    assert response.status_code == 302 and response["Location"] == "/account-locked/"
    assert not is_signed_in(again)
    assert SecurityEvent.objects.filter(user=person.user, code="account:signin:locked").count() == 1
    # A wrong password says nothing about the lock.
    wrong = sign_in(browser(), person.user, password="not the password at all")
    assert wrong.status_code == 200 and "locked" not in wrong.content.decode()


def test_locking_ends_device_trust_and_refuses_the_second_step(user_with_totp: Person, commits: Any) -> None:
    person = user_with_totp
    turn_on_two_step(person.client, commits)
    trusted_browser = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(trusted_browser, person.user)
    assert verify(trusted_browser, oathtool_code(person.secret), trust=True).status_code == 302

    # Someone with the password is at the second step when the owner locks the account.
    intruder = browser()
    assert sign_in(intruder, person.user)["Location"] == "/security/verify/"
    lock(person, commits)
    assert not TrustedDevice.objects.filter(user=person.user, revoked_at__isnull=True).exists()
    assert not is_signed_in(trusted_browser)

    response = verify(intruder, oathtool_code(person.secret, at=time.time() + 30))
    assert response.status_code == 302 and response["Location"] == "/account-locked/"
    assert not is_signed_in(intruder)


def test_a_password_reset_by_email_unlocks(person: Person, commits: Any, mailbox: Any) -> None:
    lock(person, commits)
    stranger = browser()
    stranger.post("/recover/password/", {"email": person.user.email})
    stranger.post("/recover/password/send/", {"way": "email", "email": person.user.email})
    code = mailbox.last_code(person.user.email)
    step = stranger.post("/recover/password/code/", {"code": code})
    assert step.status_code == 302, step.content[:500]
    new_password = "a brand new passphrase 77"
    mailbox.clear()
    with commits(execute=True):
        done = stranger.post(step["Location"], {"password1": new_password})
    assert done.status_code == 302, done.content[:800]
    person.user.refresh_from_db()
    assert not person.user.is_locked
    assert SecurityEvent.objects.filter(user=person.user, code="account:unlock").count() == 1
    assert any("unlocked" in mailbox.text(m) for m in mailbox.to(person.user.email))
    fresh = browser()
    assert sign_in(fresh, person.user, password=new_password).status_code == 302
    assert is_signed_in(fresh)
    assert sign_in(browser(), person.user, password=PASSWORD).status_code == 200


def test_a_session_already_gone_is_cleaned_up_but_not_counted_as_signed_out(
    person: Person, commits: Any
) -> None:
    # devices.services.end_sessions is the one way every app signs an account out; a row
    # whose session no longer exists (expired, or a key rotated away) is not a device.
    other = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(other, person.user)
    UserSession.objects.create(
        user=person.user, session_key="gone" * 8, ip="203.0.113.9", user_agent=OTHER_UA
    )

    lock(person, commits)

    assert not UserSession.objects.filter(user=person.user).exists()
    event = SecurityEvent.objects.get(user=person.user, code="account:lock")
    assert event.details["sessions_ended"] == 2
