"""Every security alert: to every verified address, what changed, when, device, country, "not me"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from tests.conftest import PASSWORD, Mailbox
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    browser,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.accounts.models import PhoneNumber
from threshold.security.models import SignInMethod

pytestmark = pytest.mark.django_db


@pytest.fixture
def addresses(person: Person) -> Person:
    EmailAddress.objects.create(user=person.user, email="ada@second.example", verified=True)
    person.user.time_zone = "Europe/London"
    person.user.save(update_fields=["time_zone"])
    return person


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

CASES: list[tuple[str, Scenario, str, str]] = [
    (
        "add app",
        add_app,
        "Sign-in method added",
        "Authenticator app “Pixel 9” was added to the ways you sign in.",
    ),
    (
        "add phone",
        add_phone,
        "Sign-in method added",
        "Text message “•••• 0123” was added to the ways you sign in.",
    ),
    (
        "remove app",
        remove_app,
        "Sign-in method removed",
        "Authenticator app “Pixel 9” was removed from the ways you sign in.",
    ),
    (
        "password",
        change_password,
        "Password changed",
        "Your password was changed, and every other session was signed out.",
    ),
    ("2sv on", two_step_on, "Two-step verification turned on", "Two-step verification was turned on"),
    (
        "2sv off",
        two_step_off,
        "Two-step verification turned off",
        "your password alone now lets someone sign in",
    ),
    ("codes made", new_codes, "Recovery codes made", "The codes you had before no longer work."),
    ("code used", use_code, "Recovery code used", "A recovery code was used to sign in to your account."),
]


@pytest.mark.parametrize(("case", "scenario", "subject", "what"), CASES, ids=[c[0] for c in CASES])
def test_alert_content(
    case: str,
    scenario: Scenario,
    subject: str,
    what: str,
    addresses: Person,
    mailbox: Mailbox,
    commits: Commits,
) -> None:
    scenario(addresses, commits)
    alerts = [m for m in mailbox.messages if m["Subject"] == f"Threshold: {subject}"]
    recipients = sorted(str(m["To"]) for m in alerts)
    assert recipients == ["ada@example.com", "ada@second.example"], [m["Subject"] for m in mailbox.messages]
    body = Mailbox.text(alerts[0]).replace("\r\n", "\n")
    assert body.startswith("Hi Ada,")
    assert what in body
    assert "Device: Chrome on Windows" in body
    assert "Country: United Kingdom" in body
    assert "IP address: 81.2.69.160" in body
    assert "(Europe/London)" in body
    assert "If this wasn't you, secure your account now:\nhttp://127.0.0.1:8000/security/not-me/" in body
    html = alerts[0].get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert 'href="http://127.0.0.1:8000/security/not-me/"' in html and "This wasn't me</a>" in html


def test_allauth_sends_none_of_the_mails_our_alerts_replace(
    addresses: Person, mailbox: Mailbox, commits: Commits
) -> None:
    two_step_off(addresses, commits)
    change_password(addresses, commits)
    subjects = {str(m["Subject"]) for m in mailbox.messages}
    assert subjects == {
        "Threshold: Sign-in method added",
        "Threshold: Two-step verification turned on",
        "Threshold: Two-step verification turned off",
        "Threshold: Password changed",
    }


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


def test_the_not_me_page_helps_secure_the_account(person: Person, client: Any) -> None:
    page = client.get("/security/not-me/").content.decode()
    assert "Reset your password by email" in page and "Review sign-in methods" in page
    signed_in = person.client.get("/security/not-me/").content.decode()
    assert 'href="/accounts/password/change/"' in signed_in
    assert 'action="/sign-out-everywhere/"' in signed_in
