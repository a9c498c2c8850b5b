"""Security alerts: one mail per verified address for each notify_user change, sent on commit."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction
from django.test import Client

from tests.conftest import PASSWORD, Mailbox, SmsOutbox, make_user
from threshold.accounts import services
from threshold.accounts.models import User
from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.context import RequestContext

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a completely different passphrase 77"
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
BRITISH_ADDRESS = "81.2.69.160"


def alerts(mailbox: Mailbox, address: str) -> list[Any]:
    return [m for m in mailbox.to(address) if "Security alert" in str(m["Subject"])]


@pytest.fixture
def windows_browser(user: User) -> Client:
    """A signed-in browser on Windows, from an address in the United Kingdom."""
    client = Client(HTTP_USER_AGENT=WINDOWS_CHROME, REMOTE_ADDR=BRITISH_ADDRESS)
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_a_password_change_mails_every_verified_address_once(
    windows_browser: Client,
    user: User,
    mailbox: Mailbox,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    EmailAddress.objects.create(user=user, email="ada@work.example", verified=True)
    EmailAddress.objects.create(user=user, email="unconfirmed@example.net", verified=False)
    user.time_zone = "Europe/London"
    user.save(update_fields=["time_zone"])
    mailbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = windows_browser.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )

    assert response.status_code == 302
    # Exactly one mail per verified address: ours, and not allauth's notice as well.
    assert len(mailbox.to(user.email)) == 1
    assert len(mailbox.to("ada@work.example")) == 1
    assert mailbox.to("unconfirmed@example.net") == []
    message = mailbox.to(user.email)[0]
    assert str(message["Subject"]) == "Threshold: Security alert: Password changed"
    text = Mailbox.text(message)
    assert "The password of your account was changed." in text
    assert "Chrome on Windows" in text
    assert f"United Kingdom (approximate, from the IP address {BRITISH_ADDRESS})" in text
    assert "(Europe/London)" in text
    assert f"{settings.BASE_URL}/accounts/password/change/" in text
    assert f"{settings.BASE_URL}/accounts/password/reset/" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{settings.BASE_URL}/accounts/password/change/"' in html


def test_a_password_reset_mails_one_alert(
    client: Client, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    client.post("/accounts/password/reset/", {"email": user.email})
    code = mailbox.last_code(user.email)
    assert client.post("/accounts/password/reset/confirm/", {"code": code}).status_code == 302
    mailbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/password/reset/complete/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )

    assert response.status_code == 302
    assert SecurityEvent.objects.filter(code="account:password:reset", user=user).exists()
    messages = mailbox.to(user.email)
    assert len(messages) == 1, [m["Subject"] for m in messages]
    assert "The password of your account was reset." in Mailbox.text(messages[0])


def test_the_alert_is_in_the_persons_language(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    user.locale = "es"
    user.save(update_fields=["locale"])
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            "account:password:change",
            user=user,
            context=RequestContext(ip=BRITISH_ADDRESS, user_agent=WINDOWS_CHROME),
        )
    text = Mailbox.text(alerts(mailbox, user.email)[0])
    assert "Reino Unido" in text  # the country is named in Spanish


def test_phone_alerts_show_only_the_last_digits(
    signed_in_client: Any,
    user: User,
    mailbox: Mailbox,
    sms: SmsOutbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = "+34612345678"
    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client.post("/your-info/phones/add/", {"number": number})
    assert alerts(mailbox, user.email) == []  # adding an unverified number is not an alert
    phone = user.phone_numbers.get()

    with django_capture_on_commit_callbacks(execute=True):
        signed_in_client.post(f"/your-info/phones/{phone.public_id}/verify/", {"code": sms.last_code(number)})
        signed_in_client.post(f"/your-info/phones/{phone.public_id}/remove/")

    sent = alerts(mailbox, user.email)
    assert [str(m["Subject"]) for m in sent] == [
        "Threshold: Security alert: Phone number verified",
        "Threshold: Security alert: Phone number removed",
    ]
    assert "The phone number ending in 78 was verified and added to your account." in Mailbox.text(sent[0])
    assert "The phone number ending in 78 was removed from your account." in Mailbox.text(sent[1])
    for message in sent:
        assert "612345678" not in Mailbox.text(message)


def test_no_alert_when_the_change_is_rolled_back(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                record_event("account:password:change", user=user)
                raise RuntimeError("a later step failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert mailbox.messages == []


def test_no_alert_before_commit(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_event("account:password:change", user=user)
        assert mailbox.messages == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(alerts(mailbox, user.email)) == 1


@pytest.mark.parametrize(
    ("code", "result"),
    [("account:profile:update", Result.SUCCESS), ("account:password:change", Result.FAILURE)],
)
def test_only_successful_notify_user_changes_alert(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any, code: str, result: Result
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_event(code, user=user, result=result)
    assert callbacks == []
    assert mailbox.messages == []


def test_an_unverified_removed_address_is_not_mailed(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record_event(
            "account:email:remove", user=user, details={"email": "typo@example.net", "was_verified": False}
        )
    assert mailbox.to("typo@example.net") == []
    assert len(alerts(mailbox, user.email)) == 1


def test_every_notify_user_type_has_an_alert_sentence() -> None:
    missing = [t.code for t in catalog.CATALOG.values() if t.notify_user and t.alert is None]
    assert missing == []


def test_an_account_without_verified_addresses_gets_no_mail(
    db: Any, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    person = make_user("quiet@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        record_event("account:password:change", user=person)
    assert mailbox.messages == []


def test_the_phone_service_alerts_through_the_same_path(
    user: User, mailbox: Mailbox, sms: SmsOutbox, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    number = "+447911123456"
    phone, delivered = services.add_phone_number(user=user, request=None, number=number)
    assert delivered
    with django_capture_on_commit_callbacks(execute=True):
        services.verify_phone_number(user=user, request=None, phone=phone, code=sms.last_code(number))
    assert len(alerts(mailbox, user.email)) == 1
