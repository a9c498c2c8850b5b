"""Replacing every sign-in method waits 30 days unless confirmed with an older one."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import Clock, Mailbox, SmsOutbox
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    add_passkey,
    browser,
    is_signed_in,
    json_block,
    oathtool_code,
    sign_in,
    sign_in_with_passkey,
    turn_on_two_step,
    verify,
)
from tests.security.softauthn import SoftAuthenticator
from threshold.accounts.models import PhoneNumber
from threshold.activity.models import SecurityEvent
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.security import tasks
from threshold.security.models import RecoveryCode, RemovalStatus, ScheduledRemoval, SignInMethod
from threshold.security.selectors.challenge import RECOVERY_OPTION_KEY, SecondStepOption
from threshold.security.selectors.removal_wait import token_digest
from threshold.security.services.recovery_codes import generate_recovery_codes
from threshold.security.services.removal_wait import apply_due_removals, confirm_removal
from threshold.verification.sign_in import PROOF_SESSION_KEY, SignInProof, proof_in

OLD_NUMBER = "+14255550123"


def text(response: Any) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def events(person: Person, code: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(user=person.user, code=code).order_by("pk"))


def age(person: Person, *, days: int = 10) -> None:
    """Make everything the account has now older than the window, as if set up days ago."""
    past = timezone.now() - timedelta(days=days)
    SignInMethod.objects.filter(user=person.user).update(created_at=past)
    RecoveryCode.objects.filter(user=person.user).update(created_at=past)
    PhoneNumber.objects.filter(user=person.user, verified_at__isnull=False).update(
        verified_at=past, created_at=past
    )
    SecurityEvent.objects.filter(user=person.user).update(occurred_at=past)


def remove(person: Person, method: SignInMethod, commits: Commits, **data: str) -> Any:
    with commits(execute=True):
        return person.client.post(f"/security/methods/{method.public_id}/remove/", data)


def cancel_link(body: str) -> str:
    match = re.search(r"https?://\S+?(/security/removals/cancel/[A-Za-z0-9_-]+/)", body)
    assert match, body
    return match.group(1)


def alerts(mailbox: Mailbox, address: str) -> list[str]:
    return [Mailbox.text(m) for m in mailbox.to(address) if "Security alert" in str(m["Subject"])]


@pytest.fixture
def replaced(user_with_two_step: Person, commits: Commits, sms: SmsOutbox, mailbox: Mailbox) -> Person:
    """An account with an older authenticator app, an older phone and codes, that adds a new
    passkey and a new email address and then asks to remove the app: the removal waits."""
    person = user_with_two_step
    PhoneNumber.objects.create(user=person.user, number=OLD_NUMBER, primary=True, verified_at=timezone.now())
    age(person)
    person.passkey = add_passkey(person.client, person.authenticator, commits, name="New passkey")
    EmailAddress.objects.create(user=person.user, email="new@elsewhere.example", verified=True)
    record_event("account:email:add", user=person.user, details={"email": "new@elsewhere.example"})
    mailbox.clear()
    app = SignInMethod.objects.get(user=person.user, kind="authenticator_app")
    response = remove(person, app, commits)
    assert response.status_code == 302 and response["Location"] == "/security/"
    return person


def the_app(person: Person) -> SignInMethod:
    return SignInMethod.objects.get(user=person.user, kind="authenticator_app")


def the_removal(person: Person) -> ScheduledRemoval:
    return ScheduledRemoval.objects.get(user=person.user)


# --- Replacing every older method waits ---------------------------------------------------------


def test_replacing_every_older_method_waits_and_tells_the_older_addresses(
    replaced: Person, mailbox: Mailbox, sms: SmsOutbox
) -> None:
    app = the_app(replaced)  # still there
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.PENDING and removal.method_id == app.pk
    assert timedelta(days=29, hours=23) < removal.effective_at - timezone.now() <= timedelta(days=30)
    [event] = events(replaced, "account:method:removal_scheduled")
    assert event.details["told_emails"] == 1 and event.details["told_phones"] == 1
    assert not events(replaced, "account:method:remove")

    # The older address is told, with a link to cancel; the address added since is not.
    [mail] = mailbox.to("ada@example.com")
    body = Mailbox.text(mail)
    assert "“Phone app” is set to be removed" in str(mail["Subject"])
    assert "the removal waits 30 days" in body
    assert "/security/removals/cancel/" in body
    assert not mailbox.to("new@elsewhere.example")
    # So is the older phone, by text message.
    [message] = sms.messages(OLD_NUMBER)
    assert "“Phone app” is set to be removed on" in message and "/security/removals/cancel/" in message
    # The token is stored only as its hash.
    token = cancel_link(body).rstrip("/").rsplit("/", 1)[1]
    assert token not in removal.cancel_token_hash and removal.cancel_token_hash == token_digest(token)

    page = text(replaced.client.get("/security/"))
    assert (
        "Removal scheduled for" in page
        and "Confirm now with this method" in page
        and "Cancel removal" in page
    )


def test_the_remove_page_says_the_removal_will_wait(user_with_two_step: Person, commits: Commits) -> None:
    person = user_with_two_step
    age(person)
    add_passkey(person.client, person.authenticator, commits, name="New passkey")
    page = text(person.client.get(f"/security/methods/{the_app(person).public_id}/remove/"))
    assert "the sign-in methods you had more than 7 days ago, so its removal waits 30 days" in page


def test_the_older_method_still_signs_in_while_its_removal_waits(replaced: Person) -> None:
    client = browser()
    sign_in(client, replaced.user)
    response = verify(client, oathtool_code(replaced.secret), method="app")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_daily_task_removes_it_when_the_wait_ends_and_twice_is_harmless(
    replaced: Person, commits: Commits, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_now = timezone.now
    start = real_now()
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(days=29))
    with commits(execute=True):
        assert tasks.apply_due_removals.enqueue().return_value == 0
    assert the_removal(replaced).status == RemovalStatus.PENDING

    mailbox.clear()
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(days=30, minutes=1))
    with commits(execute=True):
        assert tasks.apply_due_removals.enqueue().return_value == 1
    with commits(execute=True):
        call_command("apply_due_removals", stdout=open("/dev/null", "w"))  # noqa: SIM115
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.APPLIED and removal.resolved_by == "waited"
    assert not SignInMethod.objects.filter(user=replaced.user, kind="authenticator_app").exists()
    assert len(events(replaced, "account:method:removal_applied")) == 1
    [alert] = alerts(mailbox, "ada@example.com")
    assert "at the end of the 30-day wait" in alert


def test_the_task_keeps_a_method_that_became_the_last_one(
    replaced: Person, commits: Commits, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert replaced.passkey is not None
    response = remove(replaced, replaced.passkey, commits)  # a new method: removed at once
    assert response.status_code == 302
    assert not SignInMethod.objects.filter(pk=replaced.passkey.pk).exists()
    later = timezone.now() + timedelta(days=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with commits(execute=True):
        assert apply_due_removals() == 0
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.CANCELLED and removal.resolved_by == "last_method"
    assert SignInMethod.objects.filter(user=replaced.user, kind="authenticator_app").exists()


# --- Confirming with an older method ---------------------------------------------------------------


def confirm_url(person: Person, method: str = "") -> str:
    url = f"/security/removals/{the_removal(person).public_id}/confirm/"
    return f"{url}?method={method}" if method else url


def test_confirming_with_the_older_authenticator_app_removes_it_now(
    replaced: Person, commits: Commits, mailbox: Mailbox, clock: Clock
) -> None:
    page = text(replaced.client.get(confirm_url(replaced, "app")))
    assert "Enter the 6-digit code from your authenticator app" in page
    clock.advance(30)  # the code of the app's set-up step is spent
    mailbox.clear()
    with commits(execute=True):
        response = replaced.client.post(
            confirm_url(replaced), {"method": "app", "code": oathtool_code(replaced.secret, at=clock.time())}
        )
    assert response.status_code == 302 and response["Location"] == "/security/"
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.CONFIRMED and removal.resolved_by == "authenticator_app"
    assert not SignInMethod.objects.filter(user=replaced.user, kind="authenticator_app").exists()
    [alert] = alerts(mailbox, "ada@example.com")
    assert "confirmed with one of your older sign-in methods" in alert


def test_confirming_with_a_code_texted_to_the_older_phone(
    person: Person, commits: Commits, sms: SmsOutbox
) -> None:
    phone = PhoneNumber.objects.create(user=person.user, number=OLD_NUMBER, verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    turn_on_two_step(person.client, commits)
    age(person)
    add_authenticator_app(person.client, commits, name="New app")
    texting = SignInMethod.objects.get(user=person.user, kind="text_message")
    remove(person, texting, commits)
    assert the_removal(person).pending
    key = f"text-message-{texting.public_id}"
    assert "App" not in text(person.client.get(confirm_url(person)))  # the new app can't confirm
    with commits(execute=True):
        person.client.post(confirm_url(person), {"method": key, "action": "send"})
    code = sms.last_code(OLD_NUMBER)
    assert "confirm a change to your sign-in methods" in sms.messages(OLD_NUMBER)[-1]
    with commits(execute=True):
        response = person.client.post(confirm_url(person), {"method": key, "code": code})
    assert response.status_code == 302
    assert the_removal(person).status == RemovalStatus.CONFIRMED
    assert not SignInMethod.objects.filter(pk=texting.pk).exists()


def test_confirming_with_an_older_recovery_code(replaced: Person, commits: Commits) -> None:
    with commits(execute=True):
        response = replaced.client.post(
            confirm_url(replaced), {"method": "recovery-code", "code": replaced.recovery_codes[0]}
        )
    assert response.status_code == 302
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.CONFIRMED and removal.resolved_by == "recovery_code"
    assert RecoveryCode.objects.filter(user=replaced.user, used_at__isnull=False).count() == 1


def test_a_recovery_code_made_since_the_change_began_does_not_confirm(
    replaced: Person, commits: Commits
) -> None:
    with commits(execute=True):
        new_codes = generate_recovery_codes(user=replaced.user, request=replaced.client.get("/").wsgi_request)
    option = SecondStepOption(RECOVERY_OPTION_KEY, "recovery_code", "Recovery code")
    with pytest.raises(Refused) as refused:
        confirm_removal(
            user=replaced.user,
            request=replaced.client.get("/").wsgi_request,
            removal=the_removal(replaced),
            option=option,
            code=new_codes[0],
        )
    assert refused.value.code == "wrong_code"
    assert the_removal(replaced).pending
    assert "Recovery code" not in text(replaced.client.get(confirm_url(replaced)))


def test_confirming_with_an_older_passkey_and_not_a_new_one(person: Person, commits: Commits) -> None:
    person.passkey = add_passkey(person.client, person.authenticator, commits, name="Old passkey")
    age(person)
    newer = SoftAuthenticator()
    add_passkey(person.client, newer, commits, name="New passkey")
    remove(person, person.passkey, commits)
    assert the_removal(person).pending

    # One option stands for every passkey; the new one's answer is refused.
    page = person.client.get(confirm_url(person, "passkey"))
    answer = newer.get(json_block(page, "passkey-options")["request_options"])
    with commits(execute=True):
        refused = person.client.post(
            confirm_url(person), {"method": "passkey", "credential": json.dumps(answer)}
        )
    assert refused.status_code == 400 and "That passkey didn't work" in text(refused)
    assert the_removal(person).pending

    page = person.client.get(confirm_url(person, "passkey"))
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"])
    with commits(execute=True):
        response = person.client.post(
            confirm_url(person), {"method": "passkey", "credential": json.dumps(answer)}
        )
    assert response.status_code == 302
    assert the_removal(person).status == RemovalStatus.CONFIRMED
    assert not SignInMethod.objects.filter(pk=person.passkey.pk).exists()


def test_wrong_confirmations_are_refused_and_slowed(replaced: Person, commits: Commits) -> None:
    answers = []
    for _ in range(7):
        with commits(execute=True):
            response = replaced.client.post(confirm_url(replaced), {"method": "app", "code": "000000"})
        assert response.status_code == 400
        answers.append(text(response))
    assert "That code didn't work" in answers[0]
    assert "Too many wrong codes. Wait" in answers[-1]
    assert the_removal(replaced).pending
    assert the_app(replaced)
    assert len(events(replaced, "account:reauth:failure")) >= 5


# --- Removals that never wait --------------------------------------------------------------------


def test_signing_in_with_an_older_method_removes_it_at_once(
    user_with_two_step: Person, commits: Commits
) -> None:
    person = user_with_two_step
    age(person)
    add_passkey(person.client, person.authenticator, commits, name="New passkey")
    client = browser()
    sign_in(client, person.user)
    assert verify(client, oathtool_code(person.secret), method="app").status_code == 302
    app = the_app(person)
    with commits(execute=True):
        response = client.post(f"/security/methods/{app.public_id}/remove/")
    assert response.status_code == 302
    assert not SignInMethod.objects.filter(pk=app.pk).exists()
    assert not ScheduledRemoval.objects.exists()
    [event] = events(person, "account:method:remove")
    assert event.details["without_wait"] == "sign_in:authenticator_app"


def test_signing_in_with_a_new_method_does_not_skip_the_wait(
    user_with_two_step: Person, commits: Commits
) -> None:
    person = user_with_two_step
    age(person)
    add_passkey(person.client, person.authenticator, commits, name="New passkey")
    client = browser()
    assert sign_in_with_passkey(client, person.authenticator).status_code == 302
    assert is_signed_in(client)
    app = the_app(person)
    with commits(execute=True):
        client.post(f"/security/methods/{app.public_id}/remove/")
    assert SignInMethod.objects.filter(pk=app.pk).exists()
    assert the_removal(person).pending


@pytest.mark.parametrize(("reset_by", "waits"), [("account_recovery", False), ("other", True)])
def test_a_session_from_a_vouched_for_reset_does_not_wait(
    user_with_two_step: Person, commits: Commits, reset_by: str, waits: bool
) -> None:
    person = user_with_two_step
    age(person)
    add_passkey(person.client, person.authenticator, commits, name="New passkey")
    session = person.client.session
    session[PROOF_SESSION_KEY] = SignInProof(vouched_by=reset_by).as_session_value()
    session.save()
    app = the_app(person)
    remove(person, app, commits)
    assert SignInMethod.objects.filter(pk=app.pk).exists() is waits
    assert ScheduledRemoval.objects.filter(user=person.user).exists() is waits


def test_a_temporary_access_pass_session_cannot_remove_methods_at_all(
    user_with_two_step: Person, commits: Commits
) -> None:
    """A pass session only adds methods (recovery.restrictions); removing the old ones waits for a real sign-in."""
    from threshold.recovery.services.access_pass import issue_access_pass

    person = user_with_two_step
    age(person)
    with commits(execute=True):
        _, plain = issue_access_pass(user=person.user, issued_by=None, request=None)
    client = browser()
    client.post("/recover/access-pass/", {"email": person.user.email, "access_pass": plain})
    assert proof_in(client.session).vouched_by == "access_pass"
    app = the_app(person)
    with commits(execute=True):
        response = client.post(f"/security/methods/{app.public_id}/remove/")
    assert response.status_code == 302
    assert SignInMethod.objects.filter(pk=app.pk).exists()
    assert not ScheduledRemoval.objects.filter(user=person.user).exists()


def test_removing_one_older_method_while_another_stays_is_at_once(
    user_with_two_step: Person, commits: Commits
) -> None:
    person = user_with_two_step
    phone = PhoneNumber.objects.create(user=person.user, number=OLD_NUMBER, verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    age(person)
    app = the_app(person)
    remove(person, app, commits)
    assert not SignInMethod.objects.filter(pk=app.pk).exists()
    assert not ScheduledRemoval.objects.exists()


def test_removing_a_method_added_within_the_window_is_at_once(replaced: Person, commits: Commits) -> None:
    assert replaced.passkey is not None
    # The app's removal waits (it is no longer counted as staying), the new passkey's does not.
    remove(replaced, replaced.passkey, commits)
    assert not SignInMethod.objects.filter(pk=replaced.passkey.pk).exists()
    assert ScheduledRemoval.objects.filter(user=replaced.user).count() == 1


def test_a_new_account_sets_up_and_drops_methods_without_waiting(person: Person, commits: Commits) -> None:
    # All its methods are from the last few days: there is no older way in to protect yet,
    # and every addition and removal is still announced at once (see remove_sign_in_method).
    add_authenticator_app(person.client, commits)
    turn_on_two_step(person.client, commits)
    add_passkey(person.client, person.authenticator, commits, name="Laptop passkey")
    app = the_app(person)
    remove(person, app, commits)
    assert not SignInMethod.objects.filter(pk=app.pk).exists()
    assert not ScheduledRemoval.objects.exists()


# --- Ways round the wait that are closed --------------------------------------------------------


def test_allauth_pages_cannot_skip_the_wait(user_with_two_step: Person, commits: Commits) -> None:
    person = user_with_two_step
    age(person)
    add_passkey(person.client, person.authenticator, commits, name="New passkey")
    with commits(execute=True):
        person.client.post("/accounts/2fa/totp/deactivate/")
    assert the_app(person)


def test_deleting_the_older_phone_cannot_skip_the_wait(person: Person, commits: Commits) -> None:
    phone = PhoneNumber.objects.create(user=person.user, number=OLD_NUMBER, verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    age(person)
    add_authenticator_app(person.client, commits, name="New app")
    with commits(execute=True):
        response = person.client.post(f"/your-info/phones/{phone.public_id}/remove/", follow=True)
    assert "it is the last of your older sign-in methods" in text(response)
    assert PhoneNumber.objects.filter(pk=phone.pk).exists()


# --- Cancelling ----------------------------------------------------------------------------------


def test_cancelling_from_the_emailed_link_keeps_the_method_and_signs_out_everywhere(
    replaced: Person, commits: Commits, mailbox: Mailbox
) -> None:
    [mail] = mailbox.to("ada@example.com")
    link = cancel_link(Mailbox.text(mail))
    owner = browser()  # not signed in: the owner may have been locked out
    opened = owner.get(link)
    assert opened.status_code == 302 and urlsplit(opened["Location"]).path == "/security/removals/cancel/"
    page = owner.get(opened["Location"])
    assert "Cancel this change" in text(page)
    assert the_removal(replaced).pending  # opening the link changes nothing (mail scanners)

    mailbox.clear()
    with commits(execute=True):
        done = owner.post("/security/removals/cancel/", {"sign_out_everywhere": "on"})
    assert done.status_code == 200 and "The change was cancelled" in text(done)
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.CANCELLED and removal.resolved_by == "link"
    assert the_app(replaced)
    assert not is_signed_in(replaced.client)
    [event] = events(replaced, "account:method:removal_cancelled")
    assert event.details["how"] == "link" and event.details["signed_out"] is True
    [alert] = alerts(mailbox, "ada@example.com")
    assert "was cancelled: it stays one of the ways you sign in" in alert
    assert "Every session of your account was signed out" in alert

    # The link works once.
    again = owner.get(owner.get(link)["Location"])
    assert "This link no longer works" in text(again)


def test_cancelling_from_the_texted_link(replaced: Person, commits: Commits, sms: SmsOutbox) -> None:
    [message] = sms.messages(OLD_NUMBER)
    owner = browser()
    owner.get(cancel_link(message))
    with commits(execute=True):
        owner.post("/security/removals/cancel/", {})
    assert the_removal(replaced).status == RemovalStatus.CANCELLED
    assert is_signed_in(replaced.client)  # not asked to sign out everywhere


def test_a_made_up_link_cancels_nothing(replaced: Person) -> None:
    owner = browser()
    owner.get("/security/removals/cancel/not-a-real-token/")
    response = owner.post("/security/removals/cancel/", {"sign_out_everywhere": "on"})
    assert "This link no longer works" in text(response)
    assert the_removal(replaced).pending


def test_cancelling_from_security_info(replaced: Person, commits: Commits) -> None:
    with commits(execute=True):
        replaced.client.post(f"/security/removals/{the_removal(replaced).public_id}/cancel/")
    removal = the_removal(replaced)
    assert removal.status == RemovalStatus.CANCELLED and removal.resolved_by == "security_info"
    assert "Removal scheduled for" not in text(replaced.client.get("/security/"))
