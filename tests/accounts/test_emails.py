"""Contact emails: allauth's email page in our design, verified by code, primary, removal."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress

from tests.conftest import Mailbox
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db

NEW = "ada.work@example.org"


def add_verified(user: User, address: str) -> EmailAddress:
    return EmailAddress.objects.create(user=user, email=address, verified=True, primary=False)


def test_the_email_page_uses_the_portal_design(signed_in_client: Any, user: User) -> None:
    page = signed_in_client.get("/accounts/email/").content.decode()
    assert 'class="side-nav"' in page
    assert '<section class="card"' in page
    assert user.email in page
    assert 'name="action_add"' in page
    assert 'type="radio"' not in page  # one form per address, not allauth's radio list
    assert "style=" not in page  # the CSP allows no inline styles


def test_add_an_address_and_verify_it_by_code(
    signed_in_client: Any, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    response = signed_in_client.post("/accounts/email/", {"email": NEW, "action_add": ""})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert not EmailAddress.objects.filter(email=NEW).exists()  # not added before it is verified
    code_page = signed_in_client.get("/accounts/confirm-email/").content.decode()
    assert 'class="side-nav"' in code_page  # signed in: the code page sits in the portal
    assert NEW in code_page

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_client.post("/accounts/confirm-email/", {"code": mailbox.last_code(NEW)})

    assert response.status_code == 302
    address = EmailAddress.objects.get(email=NEW)
    assert address.verified and not address.primary
    added = SecurityEvent.objects.get(code="account:email:add")
    assert added.details == {"email": NEW}
    assert SecurityEvent.objects.filter(code="account:email:verify", details__email=NEW).exists()
    alert = [m for m in mailbox.to(user.email) if "Security alert" in str(m["Subject"])]
    assert len(alert) == 1
    assert f"The email address {NEW} was added to your account." in Mailbox.text(alert[0])


def test_a_wrong_code_adds_nothing(signed_in_client: Any, user: User, mailbox: Mailbox) -> None:
    signed_in_client.post("/accounts/email/", {"email": NEW, "action_add": ""})
    code = mailbox.last_code(NEW)
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    response = signed_in_client.post("/accounts/confirm-email/", {"code": wrong})
    assert response.status_code == 200
    assert not EmailAddress.objects.filter(email=NEW).exists()
    assert not SecurityEvent.objects.filter(code="account:email:add").exists()


def test_at_most_five_addresses(signed_in_client: Any, user: User, mailbox: Mailbox) -> None:
    for index in range(4):
        add_verified(user, f"ada{index}@example.org")
    page = signed_in_client.get("/accounts/email/").content.decode()
    assert "the most email addresses" in page
    assert 'name="action_add"' not in page

    response = signed_in_client.post("/accounts/email/", {"email": NEW, "action_add": ""})

    assert response.status_code == 200
    assert "more than 5 email addresses" in response.content.decode()
    assert EmailAddress.objects.filter(user=user).count() == 5
    assert mailbox.to(NEW) == []


def test_changing_the_primary_address_tells_the_old_one(
    signed_in_client: Any, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    old = user.email
    add_verified(user, NEW)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_client.post("/accounts/email/", {"email": NEW, "action_primary": ""})

    assert response.status_code == 302
    assert EmailAddress.objects.get(email=NEW).primary
    user.refresh_from_db()
    assert user.email == NEW
    event = SecurityEvent.objects.get(code="account:email:primary")
    assert event.details == {"from": old, "to": NEW}
    to_old = mailbox.to(old)
    assert len(to_old) == 1, [m["Subject"] for m in to_old]  # ours only: allauth's notice is not sent too
    text = Mailbox.text(to_old[0])
    assert f"Your primary email address was changed from {old} to {NEW}." in text
    assert "/accounts/password/change/" in text
    assert len(mailbox.to(NEW)) == 1


def test_an_unverified_address_cannot_become_primary(signed_in_client: Any, user: User) -> None:
    EmailAddress.objects.create(user=user, email=NEW, verified=False, primary=False)
    page = signed_in_client.get("/accounts/email/").content.decode()
    assert "Verify this address before you can make it primary" in page

    signed_in_client.post("/accounts/email/", {"email": NEW, "action_primary": ""})

    assert EmailAddress.objects.get(email=user.email).primary
    assert not EmailAddress.objects.get(email=NEW).primary
    assert not SecurityEvent.objects.filter(code="account:email:primary").exists()


def test_remove_an_address(
    signed_in_client: Any, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    add_verified(user, NEW)

    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client.post("/accounts/email/", {"email": NEW, "action_remove": ""})

    assert not EmailAddress.objects.filter(email=NEW).exists()
    assert SecurityEvent.objects.get(code="account:email:remove").details["email"] == NEW
    # Both the remaining address and the removed (verified) one are told, once each.
    assert len(mailbox.to(user.email)) == 1
    removed_notice = mailbox.to(NEW)
    assert len(removed_notice) == 1
    assert f"The email address {NEW} was removed from your account." in Mailbox.text(removed_notice[0])


def test_the_primary_address_cannot_be_removed(signed_in_client: Any, user: User) -> None:
    add_verified(user, NEW)
    signed_in_client.post("/accounts/email/", {"email": user.email, "action_remove": ""})
    assert EmailAddress.objects.filter(email=user.email, primary=True).exists()
    assert not SecurityEvent.objects.filter(code="account:email:remove").exists()


def test_your_info_shows_emails_phones_and_photo(signed_in_client: Any, user: User) -> None:
    add_verified(user, NEW)
    page = signed_in_client.get("/your-info/").content.decode()
    for heading in ('id="photo"', 'id="emails"', 'id="phones"'):
        assert heading in page
    assert NEW in page
    assert 'enctype="multipart/form-data"' in page
    assert 'href="/accounts/email/"' in page
