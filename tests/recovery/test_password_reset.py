"""Resetting a forgotten password: by email or text message, with the second method when
two-step verification is on, without telling anyone whether an account exists."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, Mailbox, make_user
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    add_passkey,
    browser,
    is_signed_in,
    json_block,
    last_text_message_code,
    oathtool_code,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.accounts.models import PhoneNumber, User, VerificationCode, VerificationPurpose
from threshold.activity import catalog
from threshold.activity.models import SecurityEvent
from threshold.devices.models import TrustedDevice
from threshold.security.models import MethodKind, SignInMethod

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 77"
PHONE = "+14255550123"
OTHER_PHONE = "+14255550188"


def ask_by_email(client: Client, email: str, target: str | None = None) -> Any:
    """Steps 1 and 2: the email the person signs in with, then "send it to this address"."""
    started = client.post("/recover/password/", {"email": email})
    assert started.status_code == 302 and started["Location"] == "/recover/password/send/", started
    return client.post("/recover/password/send/", {"way": "email", "email": target or email})


def ask_by_phone(client: Client, email: str, number: str) -> Any:
    started = client.post("/recover/password/", {"email": email})
    assert started.status_code == 302, started
    return client.post("/recover/password/send/", {"way": "phone", "phone": number})


def enter_code(client: Client, code: str) -> Any:
    return client.post("/recover/password/code/", {"code": code})


def choose_password(client: Client, password: str = NEW_PASSWORD) -> Any:
    return client.post("/recover/password/new/", {"password1": password})


def text(response: Any) -> str:
    return response.content.decode()


def events(user: User, code: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(user=user, code=code).order_by("pk"))


def password_works(user: User, password: str) -> bool:
    return sign_in(browser(), user, password).status_code == 302


def sms_count(outbox: Path) -> int:
    return len(list(outbox.glob("*-sms.eml"))) if outbox.exists() else 0


@pytest.fixture
def phone_method(person: Person) -> SignInMethod:
    """A verified phone that also receives sign-in codes."""
    phone = PhoneNumber.objects.create(user=person.user, number=OTHER_PHONE, verified_at=timezone.now())
    return SignInMethod.objects.create(
        user=person.user, kind=MethodKind.TEXT_MESSAGE, name="Work phone", phone=phone
    )


# --- Without two-step verification ---------------------------------------------------------------


def test_reset_by_email(person: Person, mailbox: Mailbox, commits: Commits) -> None:
    stranger = browser()
    sent = ask_by_email(stranger, person.user.email)
    assert sent.status_code == 302 and sent["Location"] == "/recover/password/code/"
    page = text(stranger.get("/recover/password/code/"))
    assert "If <strong>ada@example.com</strong> is on your account, we've sent a code to it by email." in page
    assert "The code works for 30 minutes." in page

    message = mailbox.to(person.user.email)[-1]
    assert "Your code to reset your password" in str(message["Subject"])
    code = mailbox.last_code(person.user.email)
    row = VerificationCode.objects.get(user=person.user, purpose=VerificationPurpose.PASSWORD_RESET)
    assert timedelta(minutes=29) < row.expires_at - row.issued_at <= timedelta(hours=1)
    assert code not in row.code_hash

    assert enter_code(stranger, code)["Location"] == "/recover/password/new/"
    page = text(stranger.get("/recover/password/new/"))
    assert "<h1>Choose a new password</h1>" in page and 'autocomplete="new-password"' in page
    with commits(execute=True):
        done = choose_password(stranger)
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    assert "Your password was changed. Sign in with your new password." in text(
        stranger.get("/accounts/login/")
    )
    assert not is_signed_in(stranger)  # not signed in automatically
    assert not is_signed_in(person.client)
    assert password_works(person.user, NEW_PASSWORD)
    assert not password_works(person.user, PASSWORD)
    reset = events(person.user, "account:password:reset")
    assert len(reset) == 1 and reset[0].details["via"] == "email"
    assert events(person.user, "account:password:reset:code_sent")[0].details == {"email": person.user.email}


def test_reset_by_text_message(person: Person, verified_phone: PhoneNumber, sms_outbox: Path) -> None:
    stranger = browser()
    sent = ask_by_phone(stranger, person.user.email, "+1 425 555 0123")
    assert sent["Location"] == "/recover/password/code/"
    page = text(stranger.get("/recover/password/code/"))
    assert "we've sent a code to it by text message" in page and "The code works for 10 minutes." in page
    body = sorted(sms_outbox.glob("*-sms.eml"))[-1].read_text()
    assert "is your Threshold code to reset your password" in body
    row = VerificationCode.objects.get(user=person.user, purpose=VerificationPurpose.PASSWORD_RESET)
    assert row.target == PHONE and row.expires_at - row.issued_at == timedelta(minutes=10)

    assert enter_code(stranger, last_text_message_code(sms_outbox))["Location"] == "/recover/password/new/"
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert password_works(person.user, NEW_PASSWORD)
    assert events(person.user, "account:password:reset")[0].details["via"] == "text_message"


def test_another_verified_address_of_the_account_can_get_the_code(person: Person, mailbox: Mailbox) -> None:
    EmailAddress.objects.create(user=person.user, email="ada@work.example", verified=True)
    ask_by_email(browser(), person.user.email, "ADA@work.example")
    assert len(mailbox.to("ada@work.example")) == 1 and mailbox.to(person.user.email) == []


def test_unverified_addresses_and_numbers_get_nothing(
    person: Person, mailbox: Mailbox, sms_outbox: Path
) -> None:
    EmailAddress.objects.create(user=person.user, email="unconfirmed@example.net", verified=False)
    PhoneNumber.objects.create(user=person.user, number=PHONE)
    ask_by_email(browser(), person.user.email, "unconfirmed@example.net")
    ask_by_phone(browser(), person.user.email, PHONE)
    assert mailbox.messages == [] and sms_count(sms_outbox) == 0


# --- The code stops working ---------------------------------------------------------------------


def test_a_code_works_once(person: Person, mailbox: Mailbox) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    code = mailbox.last_code(person.user.email)
    assert enter_code(stranger, code).status_code == 302
    refused = enter_code(stranger, code)
    assert refused.status_code == 400
    assert "That code didn&#x27;t work." in text(refused)
    assert events(person.user, "account:password:reset:code_failure")[0].details == {"reason": "no_code"}


def test_an_expired_code_is_refused(person: Person, mailbox: Mailbox) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    VerificationCode.objects.filter(user=person.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = enter_code(stranger, mailbox.last_code(person.user.email))
    assert refused.status_code == 400 and "That code didn&#x27;t work." in text(refused)
    assert events(person.user, "account:password:reset:code_failure")[0].details == {"reason": "expired"}


def test_a_sign_in_after_the_code_was_sent_ends_it(person: Person, mailbox: Mailbox) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    assert sign_in(browser(), person.user).status_code == 302  # the owner is evidently fine
    refused = enter_code(stranger, mailbox.last_code(person.user.email))
    assert refused.status_code == 400
    assert events(person.user, "account:password:reset:code_failure")[0].details == {"reason": "superseded"}
    assert not password_works(person.user, NEW_PASSWORD)


def test_a_password_change_after_the_code_was_sent_ends_it(person: Person, mailbox: Mailbox) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    User.objects.filter(pk=person.user.pk).update(password_changed_at=timezone.now())
    assert enter_code(stranger, mailbox.last_code(person.user.email)).status_code == 400


def test_a_sign_in_between_the_code_and_the_new_password_ends_the_reset(
    person: Person, mailbox: Mailbox
) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    assert enter_code(stranger, mailbox.last_code(person.user.email)).status_code == 302
    assert sign_in(browser(), person.user).status_code == 302
    refused = choose_password(stranger)
    assert refused["Location"] == "/recover/password/"
    assert "no longer valid" in text(stranger.get("/recover/password/"))
    assert password_works(person.user, PASSWORD)


def test_a_code_never_works_for_another_account(
    person: Person, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequence = iter(["111111", "222222", "333333"])
    monkeypatch.setattr("threshold.accounts.codes.new_code", lambda: next(sequence))
    other = make_user("grace@example.com")
    ask_by_email(browser(), other.email)
    assert mailbox.last_code(other.email) == "111111"
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    assert enter_code(stranger, "111111").status_code == 400
    # Nor by sending Ada's reset "to" Grace's address: nothing is sent, and her code is not taken.
    ask_by_email(stranger, person.user.email, other.email)
    assert len(mailbox.to(other.email)) == 1
    assert enter_code(stranger, "111111").status_code == 400
    assert VerificationCode.objects.get(user=other).consumed_at is None
    assert not password_works(person.user, NEW_PASSWORD)


def test_five_wrong_tries_stop_the_code(person: Person, mailbox: Mailbox) -> None:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    code = mailbox.last_code(person.user.email)
    wrong = "000000" if code != "000000" else "111111"
    answers = [text(enter_code(stranger, wrong)) for _ in range(5)]
    assert all("That code didn&#x27;t work." in a for a in answers[:4])
    assert "Too many wrong codes" in answers[4]
    stopped = enter_code(stranger, code)
    assert stopped.status_code == 400 and "Too many wrong codes" in text(stopped)
    # A new code does not buy more tries.
    mailbox.clear()
    ask_by_email(stranger, person.user.email)
    assert mailbox.messages == []
    assert not password_works(person.user, NEW_PASSWORD)


# --- Throttling -----------------------------------------------------------------------------------


def test_asking_is_throttled_per_account(person: Person, settings: Any) -> None:
    settings.PASSWORD_RESET_LIMITS = {"account": [(3, 900)], "address": [(100, 3600)]}
    for n in range(3):
        assert (
            browser(REMOTE_ADDR=f"198.51.100.{n}")
            .post("/recover/password/", {"email": person.user.email})
            .status_code
            == 302
        )
    refused = browser(REMOTE_ADDR="198.51.100.9").post("/recover/password/", {"email": person.user.email})
    assert refused.status_code == 400 and "then try again." in text(refused)
    assert events(person.user, "account:password:reset:throttled")
    # Another account is not affected.
    assert (
        browser(REMOTE_ADDR="198.51.100.9").post("/recover/password/", {"email": "x@example.com"}).status_code
        == 302
    )


def test_asking_is_throttled_per_client_address(db: Any, settings: Any) -> None:
    settings.PASSWORD_RESET_LIMITS = {"account": [(100, 900)], "address": [(3, 3600)]}
    client = browser()
    for n in range(3):
        assert client.post("/recover/password/", {"email": f"n{n}@example.com"}).status_code == 302
    assert client.post("/recover/password/", {"email": "n9@example.com"}).status_code == 400
    assert (
        browser(REMOTE_ADDR="203.0.113.5").post("/recover/password/", {"email": "n9@example.com"}).status_code
        == 302
    )


def test_code_checks_are_throttled_per_client_address(
    person: Person, mailbox: Mailbox, settings: Any
) -> None:
    settings.PASSWORD_RESET_CHECK_LIMITS = [(2, 3600)]
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    enter_code(stranger, "000001")
    enter_code(stranger, "000002")
    refused = enter_code(stranger, mailbox.last_code(person.user.email))
    assert refused.status_code == 400 and "then try again." in text(refused)


# --- Nobody learns whether an account exists ------------------------------------------------------


def normalised(response: Any, *values: str) -> str:
    page = text(response)
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)
    for value in values:
        page = page.replace(value, "VALUE")
    return page


def walk(email: str, *, way: str, target: str) -> list[Any]:
    client = browser()
    responses = [client.get("/recover/password/"), client.post("/recover/password/", {"email": email})]
    responses.append(client.get("/recover/password/send/"))
    data = {"way": way, "email": target} if way == "email" else {"way": "phone", "phone": target}
    responses.append(client.post("/recover/password/send/", data))
    responses.append(client.get("/recover/password/code/"))
    responses += [client.post("/recover/password/code/", {"code": "000000"}) for _ in range(5)]
    responses.append(client.get("/recover/password/new/"))
    return responses


def assert_same(first: list[Any], second: list[Any], *values: tuple[str, ...]) -> None:
    for a, b in zip(first, second, strict=True):
        assert a.status_code == b.status_code
        assert a.get("Location") == b.get("Location")
        assert a.get("Referrer-Policy") == b.get("Referrer-Policy") == "no-referrer"
        assert normalised(a, *values[0]) == normalised(b, *values[1])
        assert sorted(a.cookies.keys()) == sorted(b.cookies.keys())


def test_an_unknown_account_is_answered_like_a_known_one(
    person: Person, mailbox: Mailbox, sms_outbox: Path
) -> None:
    known = walk(person.user.email, way="email", target=person.user.email)
    mailbox.clear()
    unknown = walk("nobody@example.com", way="email", target="nobody@example.com")
    assert_same(known, unknown, (person.user.email,), ("nobody@example.com",))
    assert mailbox.messages == []
    assert "Too many wrong codes" in text(unknown[-2])


def test_a_number_not_on_the_account_is_answered_like_one_that_is(
    person: Person, verified_phone: PhoneNumber, sms_outbox: Path
) -> None:
    on_account = walk(person.user.email, way="phone", target=PHONE)
    assert sms_count(sms_outbox) == 1
    not_on_it = walk(person.user.email, way="phone", target="+14255550199")
    assert sms_count(sms_outbox) == 1
    assert_same(
        on_account, not_on_it, ("(425) 555-0123", "+1 425-555-0123"), ("(425) 555-0199", "+1 425-555-0199")
    )


# --- The link in the email -------------------------------------------------------------------------


def test_the_emails_link_is_swapped_into_the_session(person: Person, mailbox: Mailbox) -> None:
    ask_by_email(browser(), person.user.email)
    link = re.search(
        r"http://\S+/recover/password/link/(\S+)/", Mailbox.text(mailbox.to(person.user.email)[-1])
    )
    assert link is not None and len(link.group(1)) >= 40
    token = link.group(1)

    # A mail scanner that fetches every link uses nothing up: using it needs a POST.
    scanner = Client()
    scanner.get(f"/recover/password/link/{token}/", follow=True)

    other_browser = browser()
    landed = other_browser.get(f"/recover/password/link/{token}/")
    assert landed.status_code == 302 and landed["Location"] == "/recover/password/link/"
    assert landed["Referrer-Policy"] == "no-referrer"
    page = other_browser.get("/recover/password/link/")
    assert page["Referrer-Policy"] == "no-referrer" and token not in text(page)
    used = other_browser.post("/recover/password/link/")
    assert used["Location"] == "/recover/password/new/"
    assert choose_password(other_browser)["Location"] == "/accounts/login/"
    assert password_works(person.user, NEW_PASSWORD)

    # Once used, the link is dead.
    again = browser()
    again.get(f"/recover/password/link/{token}/")
    assert again.post("/recover/password/link/")["Location"] == "/recover/password/"


def test_every_reset_page_sends_no_referrer(db: Any) -> None:
    client = browser()
    for url in ("/recover/", "/recover/password/", "/recover/password/send/", "/recover/password/code/"):
        assert client.get(url)["Referrer-Policy"] == "no-referrer", url


def test_allauths_reset_addresses_lead_here(db: Any) -> None:
    client = Client()
    for url in (
        "/accounts/password/reset/",
        "/accounts/password/reset/confirm/",
        "/accounts/password/reset/key/1-abc123secret/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/recover/password/", url


# --- What a reset changes -------------------------------------------------------------------------


def test_a_reset_ends_every_session_and_trust_and_tells_every_address(
    user_with_two_step: Person, mailbox: Mailbox, commits: Commits
) -> None:
    person = user_with_two_step
    EmailAddress.objects.create(user=person.user, email="ada@work.example", verified=True)
    EmailAddress.objects.create(user=person.user, email="unconfirmed@example.net", verified=False)
    trusted = browser()
    sign_in(trusted, person.user)
    verify(trusted, person.recovery_codes[0], method="recovery-code", trust=True)
    assert is_signed_in(trusted)
    # The reset is done in a browser that is signed in to the account too.
    here = browser()
    sign_in(here, person.user)
    verify(here, person.recovery_codes[1], method="recovery-code")
    assert is_signed_in(here)

    ask_by_email(here, person.user.email)
    enter_code(here, mailbox.last_code(person.user.email))
    done = here.post(
        "/recover/password/verify/", {"method": "recovery-code", "code": person.recovery_codes[2]}
    )
    assert done["Location"] == "/recover/password/new/"
    mailbox.clear()
    with commits(execute=True):
        assert choose_password(here)["Location"] == "/accounts/login/"

    assert not UserSession.objects.filter(user=person.user).exists()
    assert not is_signed_in(here) and not is_signed_in(trusted) and not is_signed_in(person.client)
    assert not TrustedDevice.objects.filter(user=person.user, revoked_at__isnull=True).exists()
    reset = events(person.user, "account:password:reset")[0]
    assert reset.details["second_step"] == "recovery_code"
    assert reset.details["sessions_ended"] == 3 and reset.details["trusted_devices_forgotten"] == 1
    alerts = [m for m in mailbox.messages if str(m["Subject"]) == "Threshold: Security alert: Password reset"]
    assert sorted(str(m["To"]) for m in alerts) == ["ada@example.com", "ada@work.example"]
    alert = Mailbox.text(alerts[0])
    assert "The password of your account was reset, and every session was signed out." in alert
    assert "Devices that skipped two-step verification will be asked again." in alert
    assert mailbox.to("unconfirmed@example.net") == []
    # Trust is gone: signing in with the new password asks for the second step again.
    assert sign_in(trusted, person.user, NEW_PASSWORD)["Location"] == "/security/verify/"


def test_a_full_reset_unlocks_a_locked_account(person: Person, mailbox: Mailbox, commits: Commits) -> None:
    with commits(execute=True):
        assert person.client.post("/devices/lock/").status_code == 302
    person.user.refresh_from_db()
    assert person.user.is_locked
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    enter_code(stranger, mailbox.last_code(person.user.email))
    mailbox.clear()
    with commits(execute=True):
        assert choose_password(stranger)["Location"] == "/accounts/login/"
    person.user.refresh_from_db()
    assert not person.user.is_locked
    assert events(person.user, "account:unlock")[0].details == {"via": "password_reset"}
    assert any("unlocked" in Mailbox.text(m) for m in mailbox.to(person.user.email))
    fresh = browser()
    assert sign_in(fresh, person.user, NEW_PASSWORD).status_code == 302 and is_signed_in(fresh)


def test_a_code_alone_never_unlocks_an_account_with_two_step(
    user_with_two_step: Person, mailbox: Mailbox
) -> None:
    User.objects.filter(pk=user_with_two_step.user.pk).update(locked_at=timezone.now())
    stranger = reset_to_second_step(user_with_two_step, mailbox)
    assert choose_password(stranger)["Location"] == "/recover/password/verify/"
    assert User.objects.get(pk=user_with_two_step.user.pk).is_locked


def test_a_refused_new_password_changes_nothing(person: Person, mailbox: Mailbox) -> None:
    User.objects.filter(pk=person.user.pk).update(locked_at=timezone.now())
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    enter_code(stranger, mailbox.last_code(person.user.email))
    before = User.objects.get(pk=person.user.pk)
    refused = choose_password(stranger, "Lovelace ada")
    assert refused.status_code == 400
    assert "This password is mostly your name or email address" in text(refused)
    after = User.objects.get(pk=person.user.pk)
    assert (after.password, after.password_changed_at, after.locked_at) == (
        before.password,
        before.password_changed_at,
        before.locked_at,
    )
    assert UserSession.objects.filter(user=person.user).exists()
    assert not events(person.user, "account:password:reset")
    # The reset goes on: a good password still works.
    assert choose_password(stranger)["Location"] == "/accounts/login/"


# --- With two-step verification -------------------------------------------------------------------


def verify_app(client: Client, person: Person, code: str | None = None) -> Any:
    # The next step's code: the one of this step was used to set the app up.
    code = code or oathtool_code(person.secret, at=time.time() + 30)
    return client.post("/recover/password/verify/", {"method": "app", "code": code})


def reset_to_second_step(person: Person, mailbox: Mailbox) -> Client:
    stranger = browser()
    ask_by_email(stranger, person.user.email)
    assert (
        enter_code(stranger, mailbox.last_code(person.user.email))["Location"] == "/recover/password/verify/"
    )
    return stranger


def test_with_two_step_the_code_alone_is_not_enough(user_with_two_step: Person, mailbox: Mailbox) -> None:
    stranger = reset_to_second_step(user_with_two_step, mailbox)
    assert stranger.get("/recover/password/new/")["Location"] == "/recover/password/verify/"
    assert choose_password(stranger)["Location"] == "/recover/password/verify/"
    page = text(stranger.get("/recover/password/verify/"))
    assert "Verify it's you" in page and "Recovery code" in page
    assert password_works(user_with_two_step.user, PASSWORD)


def test_with_two_step_a_wrong_second_method_is_refused(user_with_two_step: Person, mailbox: Mailbox) -> None:
    stranger = reset_to_second_step(user_with_two_step, mailbox)
    refused = verify_app(stranger, user_with_two_step, "000000")
    assert refused.status_code == 400 and "That didn&#x27;t work." in text(refused)
    refused = stranger.post(
        "/recover/password/verify/", {"method": "recovery-code", "code": "aaaa-bbbb-cccc"}
    )
    assert refused.status_code == 400
    assert len(events(user_with_two_step.user, "account:password:reset:second_step:failure")) == 2
    assert choose_password(stranger)["Location"] == "/recover/password/verify/"


def test_with_two_step_the_authenticator_app_works(user_with_two_step: Person, mailbox: Mailbox) -> None:
    stranger = reset_to_second_step(user_with_two_step, mailbox)
    assert verify_app(stranger, user_with_two_step)["Location"] == "/recover/password/new/"
    assert (
        events(user_with_two_step.user, "account:password:reset:second_step")[0].method == "authenticator_app"
    )
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert password_works(user_with_two_step.user, NEW_PASSWORD)


def test_with_two_step_a_recovery_code_works_once(user_with_two_step: Person, mailbox: Mailbox) -> None:
    stranger = reset_to_second_step(user_with_two_step, mailbox)
    code = user_with_two_step.recovery_codes[0]
    done = stranger.post("/recover/password/verify/", {"method": "recovery-code", "code": code})
    assert done["Location"] == "/recover/password/new/"
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert password_works(user_with_two_step.user, NEW_PASSWORD)


def test_with_two_step_a_text_to_another_phone_works(
    user_with_two_step: Person, phone_method: SignInMethod, verified_phone: PhoneNumber, sms_outbox: Path
) -> None:
    stranger = browser()
    ask_by_phone(stranger, user_with_two_step.user.email, PHONE)  # the reset code goes to one phone
    assert enter_code(stranger, last_text_message_code(sms_outbox))["Location"] == "/recover/password/verify/"
    key = f"text-message-{phone_method.public_id}"
    sent = stranger.post("/recover/password/verify/", {"method": key, "action": "send"})
    assert sent.status_code == 302
    body = sorted(sms_outbox.glob("*-sms.eml"))[-1].read_text()
    assert f"Text message to {OTHER_PHONE}" in body and "to confirm a password reset" in body
    done = stranger.post(
        "/recover/password/verify/", {"method": key, "code": last_text_message_code(sms_outbox)}
    )
    assert done["Location"] == "/recover/password/new/"
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert (
        events(user_with_two_step.user, "account:password:reset")[0].details["second_step"] == "text_message"
    )


def test_with_two_step_the_phone_that_got_the_code_is_not_a_second_method(
    user_with_two_step: Person, phone_method: SignInMethod, sms_outbox: Path
) -> None:
    stranger = browser()
    ask_by_phone(stranger, user_with_two_step.user.email, OTHER_PHONE)
    assert enter_code(stranger, last_text_message_code(sms_outbox))["Location"] == "/recover/password/verify/"
    key = f"text-message-{phone_method.public_id}"
    page = text(stranger.get(f"/recover/password/verify/?method={key}"))
    assert f'value="{key}"' not in page and "Work phone" not in page
    sent_before = sms_count(sms_outbox)
    stranger.post("/recover/password/verify/", {"method": key, "action": "send"})
    assert sms_count(sms_outbox) == sent_before
    # Even a right sign-in code for that phone is not taken as the second method.
    refused = stranger.post(
        "/recover/password/verify/", {"method": key, "code": last_text_message_code(sms_outbox)}
    )
    assert refused.status_code == 400
    assert choose_password(stranger)["Location"] == "/recover/password/verify/"


def test_with_two_step_a_passkey_works(person: Person, commits: Commits, mailbox: Mailbox) -> None:
    add_authenticator_app(person.client, commits)
    add_passkey(person.client, person.authenticator, commits, name="YubiKey", passwordless=False)
    turn_on_two_step(person.client, commits)
    stranger = reset_to_second_step(person, mailbox)
    page = stranger.get("/recover/password/verify/?method=passkey")
    assert "Use your passkey" in text(page) and 'src="/static/security/passkeys.js"' in text(page)
    credential = person.authenticator.get(json_block(page, "passkey-options")["request_options"])
    done = stranger.post(
        "/recover/password/verify/", {"method": "passkey", "credential": json.dumps(credential)}
    )
    assert done["Location"] == "/recover/password/new/"
    assert events(person.user, "account:password:reset:second_step")[0].method == "passkey"
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    assert sign_in(browser(), person.user, NEW_PASSWORD)["Location"] == "/security/verify/"


# --- "Can't sign in?" -------------------------------------------------------------------------------


def resolves(url_name: str) -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def test_cant_sign_in_lists_the_ways_that_exist(db: Any) -> None:
    page = text(Client().get("/recover/"))
    assert '<a href="/recover/password/"><strong>I forgot my password</strong></a>' in page
    assert '<a href="/recover/access-pass/"><strong>I have a Temporary Access Pass</strong></a>' in page
    # A way whose page is not built yet is not listed.
    assert page.count("<strong>") == 1 + sum(
        1 for name in ("recover_second_method", "recover_request", "access_pass_sign_in") if resolves(name)
    )
    login = text(Client().get("/accounts/login/"))
    assert '<a class="small" href="/recover/password/">Forgot password?</a>' in login
    assert '<a href="/recover/">Can\'t sign in?</a>' in login


def test_a_mailed_code_may_not_work_longer_than_an_hour(settings: Any) -> None:
    from threshold.accounts.checks import email_code_lifetimes

    assert email_code_lifetimes(None) == []
    settings.EMAIL_CODE_TTL = {"password_reset": 2 * 3600}
    errors = email_code_lifetimes(None)
    assert [e.id for e in errors] == ["threshold.E202"]
    assert "an hour" in errors[0].msg


def test_a_reset_password_alerts_the_owner() -> None:
    assert catalog.get("account:password:reset").notify_user
