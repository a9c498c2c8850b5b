"""A one-time code works only in the flow (the browser session) that asked for it (ASVS 6.6.2).

Each test has two browsers going through the same flow for the same account and target:
the code sent for one is refused in the other, and still works where it was asked for.
"""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, Clock, Mailbox, SmsOutbox, make_user
from tests.security.conftest import Commits, Person, browser, sign_in, turn_on_two_step, verify
from threshold.accounts.models import PhoneNumber
from threshold.security.models import MethodKind, SignInMethod

pytestmark = pytest.mark.django_db

NUMBER = "+14255550123"
BACKUP = "ada@backup.example"
CONTACT = "ada.personal@mail.example"
GENEROUS = {"number": [(100, 3600)], "account": [(100, 3600)], "address": [(100, 3600)]}


def page(response: Any) -> str:
    return response.content.decode()


# --- Password reset ----------------------------------------------------------------------


def ask_reset_by_email(client: Client, email: str) -> None:
    assert client.post("/recover/password/", {"email": email}).status_code == 302
    sent = client.post("/recover/password/send/", {"way": "email", "email": email})
    assert sent["Location"] == "/recover/password/code/"


def test_a_reset_code_works_only_in_the_browser_that_asked_for_it(person: Person, mailbox: Mailbox) -> None:
    email = person.user.email
    first, second = browser(), browser()
    ask_reset_by_email(first, email)
    ask_reset_by_email(second, email)
    code = mailbox.last_code(email)  # sent for the second browser's reset

    refused = first.post("/recover/password/code/", {"code": code})
    assert refused.status_code == 400
    assert "That code didn" in page(refused)

    accepted = second.post("/recover/password/code/", {"code": code})
    assert accepted["Location"] == "/recover/password/new/"


def test_a_reset_second_step_text_code_works_only_in_the_reset_that_asked_for_it(
    user_with_two_step: Person, mailbox: Mailbox, sms: SmsOutbox
) -> None:
    phone = PhoneNumber.objects.create(
        user=user_with_two_step.user, number=NUMBER, verified_at=timezone.now()
    )
    method = SignInMethod.objects.create(
        user=user_with_two_step.user, kind=MethodKind.TEXT_MESSAGE, name="Work phone", phone=phone
    )
    key = f"text-message-{method.public_id}"
    email = user_with_two_step.user.email
    first, second = browser(), browser()
    for client in (first, second):  # each proves the mailbox with a code of its own
        ask_reset_by_email(client, email)
        proved = client.post("/recover/password/code/", {"code": mailbox.last_code(email)})
        assert proved["Location"] == "/recover/password/verify/"
    assert second.post("/recover/password/verify/", {"method": key, "action": "send"}).status_code == 302
    code = sms.last_code(NUMBER)

    assert first.post("/recover/password/verify/", {"method": key, "code": code}).status_code == 400
    accepted = second.post("/recover/password/verify/", {"method": key, "code": code})
    assert accepted["Location"] == "/recover/password/new/"


# --- Account recovery and recovery requests ------------------------------------------------


def test_an_account_recovery_code_works_only_in_the_browser_that_asked_for_it(
    person: Person, mailbox: Mailbox, clock: Clock
) -> None:
    EmailAddress.objects.create(user=person.user, email=BACKUP, verified=True)
    first, second = browser(), browser()
    for client in (first, second):
        assert client.post("/recover/second-method/", {"account_email": person.user.email}).status_code == 302
        sent = client.post("/recover/second-method/email/", {"action": "send", "address": BACKUP})
        assert sent.status_code == 302, page(sent)[:2000]
        clock.advance(31)  # one code per address every 30 seconds
    code = mailbox.last_code(BACKUP)

    refused = first.post("/recover/second-method/email/", {"action": "verify", "code": code})
    assert refused.status_code == 200
    assert "That code isn&#x27;t right" in page(refused)

    accepted = second.post("/recover/second-method/email/", {"action": "verify", "code": code})
    assert accepted["Location"] == "/recover/second-method/phone/"


def test_a_recovery_request_contact_code_works_only_in_the_browser_that_asked_for_it(
    person: Person, mailbox: Mailbox, commits: Commits
) -> None:
    claims = {
        "names": "Ada Lovelace",
        "created": "2024",
        "places": "London",
        "subscriptions": "",
        "other": "",
    }
    first, second = browser(), browser()
    for client in (first, second):
        asked = client.post(
            "/recover/request/", {"account_email": person.user.email, "contact_email": CONTACT, **claims}
        )
        assert asked["Location"] == "/recover/request/confirm/", page(asked)[:2000]
    code = mailbox.last_code(CONTACT)

    refused = first.post("/recover/request/confirm/", {"action": "verify", "code": code})
    assert refused.status_code == 200

    with commits(execute=True):
        accepted = second.post("/recover/request/confirm/", {"action": "verify", "code": code})
    assert accepted["Location"] == "/recover/request/sent/"


# --- Verifying a phone number, and text-message codes at sign-in ---------------------------


def test_a_phone_verification_code_works_only_in_the_session_that_asked_for_it(
    person: Person, sms: SmsOutbox, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = GENEROUS
    other = browser()
    assert sign_in(other, person.user).status_code == 302
    added = person.client.post("/your-info/phones/add/", {"number": NUMBER, "region": ""})
    assert added.status_code == 302, page(added)[:2000]
    phone = PhoneNumber.objects.get(user=person.user, number=NUMBER)
    url = f"/your-info/phones/{phone.public_id}/verify/"
    code = sms.last_code(NUMBER)

    other.post(url, {"code": code})
    phone.refresh_from_db()
    assert not phone.verified

    assert person.client.post(url, {"code": code}).status_code == 302
    phone.refresh_from_db()
    assert phone.verified


def test_a_sign_in_code_by_text_message_works_only_in_the_sign_in_that_asked_for_it(
    person: Person, sms: SmsOutbox, commits: Commits, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = GENEROUS
    phone = PhoneNumber.objects.create(
        user=person.user, number=NUMBER, primary=True, verified_at=timezone.now()
    )
    with commits(execute=True):
        assert person.client.post("/security/add/text-message/", {"phone": phone.pk}).status_code == 302
    turn_on_two_step(person.client, commits)
    method = SignInMethod.objects.get(user=person.user, kind=MethodKind.TEXT_MESSAGE)
    key = f"text-message-{method.public_id}"

    asking, elsewhere = browser(), browser()
    for client in (asking, elsewhere):
        assert sign_in(client, person.user, PASSWORD)["Location"] == "/security/verify/"
    asking.post("/security/verify/", {"method": key, "action": "send"})
    code = sms.last_code(NUMBER)

    assert verify(elsewhere, code, method=key).status_code == 400
    assert elsewhere.get("/").status_code != 200

    assert verify(asking, code, method=key).status_code == 302
    assert asking.get("/").status_code == 200


# --- Verifying an email address (allauth's code, kept in the session that asked) -----------


def test_an_email_verification_code_works_only_in_the_session_that_asked_for_it(
    db: Any, mailbox: Mailbox, clock: Clock
) -> None:
    make_user("new@example.com", verified=False)
    asking, elsewhere = Client(), Client()
    for client in (elsewhere, asking):
        answer = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
        assert answer["Location"] == "/accounts/confirm-email/"
        clock.advance(11)  # a new code at most every 10 seconds
    assert len(mailbox.to("new@example.com")) == 2  # a code for each
    code = mailbox.last_code("new@example.com")  # the one sent for ``asking``

    elsewhere.post("/accounts/confirm-email/", {"code": code})
    assert not EmailAddress.objects.get(email="new@example.com").verified

    assert asking.post("/accounts/confirm-email/", {"code": code}).status_code == 302
    assert EmailAddress.objects.get(email="new@example.com").verified
