"""Closing an account: the window, signing in during it, reopening, and the purge at its end."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.recovery.conftest import move_window_end
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
from threshold.accounts.models import PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.core.errors import FreshSignInRequired
from threshold.devices.models import Device
from threshold.recovery import tasks
from threshold.recovery.services import closure
from threshold.recovery.services.closure import AlreadyClosing, close_account, close_due_accounts
from threshold.security.models import RecoveryCode, SignInMethod

pytestmark = pytest.mark.django_db


def test_privacy_page_is_in_the_navigation(person: Person) -> None:
    page = person.client.get("/privacy/").content.decode()
    assert 'href="/privacy/"' in page and 'href="/privacy/close/"' in page


def test_the_close_page_first_says_what_closing_means(person: Person) -> None:
    PhoneNumber.objects.create(user=person.user, number="+14255550123")
    page = person.client.get("/privacy/close/").content.decode()
    assert "No apps sign in with this account yet" in page
    assert "You have no subscriptions" in page
    assert "Ada Lovelace" in page
    assert "1 phone number" in page and "1 email address" in page and "1 device " in page
    assert "Download your data first" in page
    assert 'name="days"' in page and 'name="reason"' in page


def test_closing_needs_a_fresh_sign_in(person: Person, clock: Any) -> None:
    clock.advance(10 * 60 + 1)
    page = person.client.get("/privacy/close/").content.decode()
    assert "sign in again before you close" in page and 'name="days"' not in page
    response = person.client.post("/privacy/close/", {"days": "30"})
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    person.user.refresh_from_db()
    assert person.user.closes_at is None
    with pytest.raises(FreshSignInRequired):
        close_account(user=person.user, request=None, days=30)


def test_only_30_or_60_days(person: Person) -> None:
    response = person.client.post("/privacy/close/", {"days": "1"})
    assert response.status_code == 200
    person.user.refresh_from_db()
    assert person.user.closes_at is None


def test_closing_marks_the_account_ends_every_session_and_tells_every_address(
    person: Person, commits: Any, mailbox: Any
) -> None:
    EmailAddress.objects.create(user=person.user, email="ada.work@example.com", verified=True)
    EmailAddress.objects.create(user=person.user, email="unverified@example.com", verified=False)
    other = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(other, person.user)
    mailbox.clear()

    with commits(execute=True):
        response = person.client.post("/privacy/close/", {"days": "60", "reason": "privacy"})

    assert response["Location"] == "/account-closing/"
    assert "signed out everywhere" in person.client.get("/account-closing/").content.decode()
    assert not is_signed_in(person.client) and not is_signed_in(other)
    assert not UserSession.objects.filter(user=person.user).exists()
    person.user.refresh_from_db()
    assert person.user.is_closing and person.user.is_active
    assert (person.user.closes_at - person.user.closure_requested_at).days == 60
    event = SecurityEvent.objects.get(user=person.user, code="account:close:request")
    assert event.details["days"] == 60 and event.details["reason"] == "privacy"
    assert event.details["sessions_ended"] == 2
    for address in (person.user.email, "ada.work@example.com"):
        messages = mailbox.to(address)
        assert len(messages) == 1, address
        assert "Your account was set to close in 60 days" in mailbox.text(messages[0])
    assert not mailbox.to("unverified@example.com")


def test_a_closing_account_cannot_be_used_but_signing_in_offers_to_reopen(
    account_pending_closure: Person, commits: Any, mailbox: Any
) -> None:
    person = account_pending_closure
    client = browser()
    assert sign_in(client, person.user)["Location"] == "/"
    for path in ("/", "/your-info/", "/security/", "/devices/", "/privacy/", "/privacy/close/"):
        assert client.get(path)["Location"] == "/privacy/reopen/", path
    page = client.get("/privacy/reopen/").content.decode()
    assert "This account is closing" in page and "Reopen my account" in page
    mailbox.clear()

    with commits(execute=True):
        response = client.post("/privacy/reopen/")

    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    person.user.refresh_from_db()
    assert not person.user.is_closing and person.user.closes_at is None
    assert SecurityEvent.objects.filter(user=person.user, code="account:reopen").count() == 1
    assert "Your account was reopened" in mailbox.text(mailbox.to(person.user.email)[0])
    assert client.get("/privacy/reopen/")["Location"] == "/"


def test_a_closing_account_still_asks_for_its_second_step(user_with_totp: Person, commits: Any) -> None:
    turn_on_two_step(user_with_totp.client, commits)
    with commits(execute=True):
        user_with_totp.client.post("/privacy/close/", {"days": "30"})
    client = browser()
    assert sign_in(client, user_with_totp.user)["Location"] != "/"
    assert client.get("/privacy/reopen/")["Location"].startswith("/accounts/login/")
    verify(client, oathtool_code(user_with_totp.secret))
    assert client.get("/")["Location"] == "/privacy/reopen/"


def test_reopening_needs_a_fresh_sign_in(account_pending_closure: Person, clock: Any) -> None:
    client = browser()
    sign_in(client, account_pending_closure.user)
    clock.advance(10 * 60 + 1)
    response = client.post("/privacy/reopen/")
    assert response["Location"] == "/accounts/login/?next=%2Fprivacy%2Freopen%2F"
    account_pending_closure.user.refresh_from_db()
    assert account_pending_closure.user.is_closing
    response = client.post(
        "/accounts/login/?next=/privacy/reopen/",
        {"login": account_pending_closure.user.email, "password": PASSWORD},
    )
    assert response["Location"] == "/privacy/reopen/"
    assert client.post("/privacy/reopen/")["Location"] == "/"


def test_closing_twice_is_refused(person: Person, commits: Any) -> None:
    """Two tabs, both signed in a moment ago, post "Close my account": the second is refused."""
    first, second = person.client.get("/").wsgi_request, person.client.get("/").wsgi_request
    with commits(execute=True):
        closes_at = close_account(user=person.user, request=first, days=30)
    with pytest.raises(AlreadyClosing):
        close_account(user=person.user, request=second, days=60)
    person.user.refresh_from_db()
    assert person.user.closes_at == closes_at
    assert SecurityEvent.objects.filter(user=person.user, code="account:close:request").count() == 1


def _personal_rows(user: User) -> dict[str, int]:
    """Every row still pointing at the account, by model, apart from its security events."""
    rows = {}
    for relation in User._meta.related_objects:
        model = relation.related_model
        if model is SecurityEvent:
            continue
        count = model._default_manager.filter(**{relation.field.name: user}).count()
        if count:
            rows[model.__name__] = count
    return rows


def test_the_end_of_the_window_deletes_personal_data_and_keeps_an_anonymous_tombstone(
    user_with_totp: Person, commits: Any
) -> None:
    person = user_with_totp
    turn_on_two_step(person.client, commits)
    PhoneNumber.objects.create(user=person.user, number="+14255550123")
    User.objects.filter(pk=person.user.pk).update(photo=b"\x89PNG...")
    with commits(execute=True):
        person.client.post("/privacy/close/", {"days": "30"})
    assert Authenticator.objects.filter(user=person.user).exists()
    assert RecoveryCode.objects.filter(user=person.user).exists()
    assert Device.objects.filter(user=person.user).exists()
    email_event = SecurityEvent.objects.create(
        occurred_at=timezone.now(),
        code="account:email:add",
        user=person.user,
        subject_label=person.user.email,
        details={"email": "ada.work@example.com"},
    )
    events_before = SecurityEvent.objects.filter(user=person.user).count()

    assert close_due_accounts() == 0  # not due yet
    move_window_end(person)
    out = StringIO()
    call_command("close_due_accounts", stdout=out)
    assert "Closed 1 account" in out.getvalue()

    tombstone = User.objects.get(pk=person.user.pk)
    assert tombstone.email == f"closed-{tombstone.public_id}@invalid"
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert tombstone.given_name == tombstone.family_name == tombstone.display_name == ""
    assert User.objects.filter(pk=tombstone.pk, photo__isnull=True).exists()
    assert tombstone.closed_at is not None
    assert _personal_rows(tombstone) == {}
    assert not Authenticator.objects.exists() and not SignInMethod.objects.exists()
    assert not EmailAddress.objects.exists() and not PhoneNumber.objects.exists()
    assert not UserSession.objects.exists()
    events = SecurityEvent.objects.filter(user=tombstone)
    assert events.count() == events_before + 1
    assert set(events.values_list("subject_label", flat=True)) == {tombstone.email}
    assert set(events.exclude(pk=email_event.pk).values_list("actor_label", flat=True)) == {tombstone.email}
    assert SecurityEvent.objects.get(pk=email_event.pk).details == {}
    assert not SecurityEvent.objects.filter(subject_label__icontains="ada").exists()
    assert events.filter(code="account:close:complete").count() == 1

    # Twice is harmless, and the tombstone cannot sign in.
    assert close_due_accounts() == 0
    assert tasks.close_due_accounts.enqueue().return_value == 0
    assert events.filter(code="account:close:complete").count() == 1
    for login in (person.user, tombstone):
        client = browser()
        assert sign_in(client, login).status_code == 200
        assert not is_signed_in(client)


def test_a_purge_killed_halfway_leaves_the_account_whole_and_the_next_run_finishes(
    account_pending_closure: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = account_pending_closure
    move_window_end(person)

    def killed(user: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(closure, "_anonymise_events", killed)
    with pytest.raises(KeyboardInterrupt):
        close_due_accounts()
    person.user.refresh_from_db()
    assert person.user.email == "ada@example.com" and person.user.closed_at is None
    assert EmailAddress.objects.filter(user=person.user).exists()

    monkeypatch.undo()
    assert close_due_accounts() == 1
    person.user.refresh_from_db()
    assert person.user.closed_at is not None


def test_an_account_past_its_window_cannot_be_reopened(account_pending_closure: Person) -> None:
    client = browser()
    sign_in(client, account_pending_closure.user)
    move_window_end(account_pending_closure)
    response = client.post("/privacy/reopen/")
    assert response["Location"] == "/accounts/login/"
    account_pending_closure.user.refresh_from_db()
    assert account_pending_closure.user.is_closing
    assert close_due_accounts() == 1


def test_a_reopened_account_is_not_purged(account_pending_closure: Person) -> None:
    client = browser()
    sign_in(client, account_pending_closure.user)
    client.post("/privacy/reopen/")
    assert close_due_accounts(now=timezone.now() + timedelta(days=61)) == 0
    account_pending_closure.user.refresh_from_db()
    assert account_pending_closure.user.email == "ada@example.com"
