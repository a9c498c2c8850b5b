"""Security alerts: one mail per verified address for each notify_user change, sent on commit.

Every alert: to every verified address, what changed, when, device, country, "This wasn't me".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, Mailbox, SmsOutbox, make_user
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    browser,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.accounts import services
from threshold.accounts.models import PhoneNumber, User
from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.context import RequestContext
from threshold.devices.models import TrustedDevice
from threshold.security.models import SignInMethod

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
    assert "Your password was changed, and every other session was signed out." in text
    assert "Chrome on Windows" in text
    assert f"United Kingdom (approximate, from the IP address {BRITISH_ADDRESS})" in text
    assert "(Europe/London)" in text
    assert f"{settings.BASE_URL}/accounts/password/change/" in text
    assert f"{settings.BASE_URL}/recover/password/" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{settings.BASE_URL}/accounts/password/change/"' in html


def test_a_password_reset_mails_one_alert(
    client: Client, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    client.post("/recover/password/", {"email": user.email})
    client.post("/recover/password/send/", {"way": "email", "email": user.email})
    code = mailbox.last_code(user.email)
    assert client.post("/recover/password/code/", {"code": code}).status_code == 302
    mailbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/recover/password/new/", {"password1": NEW_PASSWORD})

    assert response.status_code == 302
    assert SecurityEvent.objects.filter(code="account:password:reset", user=user).exists()
    messages = mailbox.to(user.email)
    assert len(messages) == 1, [m["Subject"] for m in messages]
    assert "The password of your account was reset, and every session was signed out." in Mailbox.text(
        messages[0]
    )


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
    [message] = mailbox.to(user.email)
    assert str(message["Subject"]) == "Threshold: Alerta de seguridad: Contraseña cambiada"
    text = Mailbox.text(message)
    assert "Hola, Ada:" in text
    assert "Se ha cambiado tu contraseña y se han cerrado todas las demás sesiones." in text
    assert "Chrome en Windows" in text
    assert f"Reino Unido (aproximada, según la dirección IP {BRITISH_ADDRESS})" in text  # country in Spanish
    assert "Si no has sido tú, protege tu cuenta ahora:" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "No fui yo</a>" in html


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


def test_only_notify_user_types_have_alert_text() -> None:
    # Text on a type that never alerts would be dead words that look like they are sent.
    stray = [t.code for t in catalog.CATALOG.values() if not t.notify_user and (t.alert or t.alert_more)]
    assert stray == []


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
    phone = PhoneNumber.objects.create(user=user, number=number)
    assert services.send_phone_code(user=user, request=None, phone=phone)
    with django_capture_on_commit_callbacks(execute=True):
        services.verify_phone_number(user=user, request=None, phone=phone, code=sms.last_code(number))
    assert len(alerts(mailbox, user.email)) == 1


# --- Sign-in security: methods, two-step verification, recovery codes, password ----------


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Any) -> Commits:
    return django_capture_on_commit_callbacks  # type: ignore[no-any-return]


@pytest.fixture
def addresses(user: User) -> Person:
    """Ada, signed in on Chrome on Windows from the United Kingdom, with two verified addresses."""
    client = browser()
    assert sign_in(client, user).status_code == 302
    EmailAddress.objects.create(user=user, email="ada@second.example", verified=True)
    user.time_zone = "Europe/London"
    user.save(update_fields=["time_zone"])
    return Person(user=user, client=client)


def add_app(person: Person, commits: Commits) -> None:
    person.secret = add_authenticator_app(person.client, commits, name="Pixel 9")


def remove_app(person: Person, commits: Commits) -> None:
    add_app(person, commits)
    method = SignInMethod.objects.get(user=person.user)
    with commits(execute=True):
        person.client.post(f"/security/methods/{method.public_id}/remove/")


def add_phone(person: Person, commits: Commits) -> None:
    phone = PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})


def change_password(person: Person, commits: Commits) -> None:
    new = "a brand new passphrase 77"
    with commits(execute=True):
        person.client.post(
            "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new}
        )


def change_password_on_a_trusted_device(person: Person, commits: Commits) -> None:
    TrustedDevice.objects.create(
        user=person.user, token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=30)
    )
    change_password(person, commits)


def two_step_on(person: Person, commits: Commits) -> None:
    add_app(person, commits)
    turn_on_two_step(person.client, commits)


def two_step_off(person: Person, commits: Commits) -> None:
    two_step_on(person, commits)
    with commits(execute=True):
        person.client.post("/security/two-step/off/")


def new_codes(person: Person, commits: Commits) -> None:
    with commits(execute=True):
        person.client.post("/security/recovery-codes/new/")


def use_code(person: Person, commits: Commits) -> None:
    add_app(person, commits)
    codes = turn_on_two_step(person.client, commits)
    client = browser()
    sign_in(client, person.user)
    with commits(execute=True):
        verify(client, codes[0], method="recovery-code")


Scenario = Callable[[Person, Commits], None]

# (case, scenario, subject, what changed, further lines that must be there, lines that must not)
CASES: list[tuple[str, Scenario, str, str, list[str], list[str]]] = [
    (
        "add app",
        add_app,
        "Sign-in method added",
        "Authenticator app “Pixel 9” was added to the ways you sign in.",
        [],
        [],
    ),
    (
        "add phone",
        add_phone,
        "Sign-in method added",
        "Text message “•••• 0123” was added to the ways you sign in.",
        [],
        [],
    ),
    (
        "remove app",
        remove_app,
        "Sign-in method removed",
        "Authenticator app “Pixel 9” was removed from the ways you sign in.",
        [],
        [],
    ),
    (
        "password",
        change_password,
        "Password changed",
        "Your password was changed, and every other session was signed out.",
        [],
        ["Devices that skipped two-step verification will be asked again."],
    ),
    (
        "password, trusted device",
        change_password_on_a_trusted_device,
        "Password changed",
        "Your password was changed, and every other session was signed out.",
        ["Devices that skipped two-step verification will be asked again."],
        [],
    ),
    (
        "2sv on",
        two_step_on,
        "Two-step verification turned on",
        "Two-step verification was turned on",
        ["A set of recovery codes was also made; keep them somewhere safe."],
        [],
    ),
    (
        "2sv off",
        two_step_off,
        "Two-step verification turned off",
        "your password alone now lets someone sign in",
        [],
        [],
    ),
    ("codes made", new_codes, "Recovery codes made", "The codes you had before no longer work.", [], []),
    (
        "code used",
        use_code,
        "Recovery code used",
        "A recovery code was used to sign in to your account.",
        ["You have 9 recovery codes left.", "make a new set on your Security info page"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "scenario", "subject", "what", "more", "not_more"), CASES, ids=[c[0] for c in CASES]
)
def test_alert_content(
    case: str,
    scenario: Scenario,
    subject: str,
    what: str,
    more: list[str],
    not_more: list[str],
    addresses: Person,
    mailbox: Mailbox,
    commits: Commits,
    settings: Any,
) -> None:
    scenario(addresses, commits)
    sent = [m for m in mailbox.messages if m["Subject"] == f"Threshold: Security alert: {subject}"]
    recipients = sorted(str(m["To"]) for m in sent)
    assert recipients == ["ada@example.com", "ada@second.example"], [m["Subject"] for m in mailbox.messages]
    body = Mailbox.text(sent[0]).replace("\r\n", "\n")
    assert body.startswith("Hi Ada,")
    assert what in body
    for line in more:
        assert line in body
    for line in not_more:
        assert line not in body
    assert "Device: Chrome on Windows" in body
    assert "Where: United Kingdom (approximate, from the IP address 81.2.69.160)" in body
    assert "(Europe/London)" in body
    assert f"If this wasn't you, secure your account now:\n{settings.BASE_URL}/security/not-me/" in body
    assert f"Then review your sign-in methods:\n{settings.BASE_URL}/security/" in body
    html = sent[0].get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{settings.BASE_URL}/security/not-me/"' in html and "This wasn't me</a>" in html
    assert f'href="{settings.BASE_URL}/security/"' in html


def test_allauth_sends_none_of_the_mails_our_alerts_replace(
    addresses: Person, mailbox: Mailbox, commits: Commits
) -> None:
    two_step_off(addresses, commits)
    change_password(addresses, commits)
    subjects = [str(m["Subject"]) for m in mailbox.messages]
    # One mail per change per address: no allauth notice, and the recovery codes made while
    # turning 2SV on are told in the 2SV alert, not in an alert of their own.
    assert sorted(subjects) == sorted(
        2
        * [
            "Threshold: Security alert: Sign-in method added",
            "Threshold: Security alert: Two-step verification turned on",
            "Threshold: Security alert: Two-step verification turned off",
            "Threshold: Security alert: Password changed",
        ]
    )


def test_unverified_addresses_get_no_alert(addresses: Person, mailbox: Mailbox, commits: Commits) -> None:
    EmailAddress.objects.create(user=addresses.user, email="not-yet@example.com", verified=False)
    change_password(addresses, commits)
    assert sorted(str(m["To"]) for m in mailbox.messages) == ["ada@example.com", "ada@second.example"]


def test_alerts_speak_the_persons_language(addresses: Person, mailbox: Mailbox, commits: Commits) -> None:
    addresses.user.locale = "es"
    addresses.user.save(update_fields=["locale"])
    add_app(addresses, commits)
    [message, *_] = [m for m in mailbox.messages if "ada@example.com" in str(m["To"])]
    assert "España" not in Mailbox.text(message)  # a sanity check that the country is not translated wrongly
    assert "Reino Unido" in Mailbox.text(message)
