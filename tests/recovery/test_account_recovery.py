"""Account recovery by an email address and a phone number, after a waiting period."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.conftest import Clock, Mailbox, SmsOutbox
from tests.security.conftest import (
    Commits,
    Person,
    browser,
    is_signed_in,
    oathtool_code,
    sign_in,
    verify,
)
from threshold.accounts.models import PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.devices.models import TrustedDevice
from threshold.recovery import tasks
from threshold.recovery.models import AccountRecovery, CancelledBy, RecoveryStatus
from threshold.recovery.services.recovery_completion import (
    complete_account_recovery,
    mark_due_recoveries_ready,
)
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.security.models import MethodKind, SignInMethod
from threshold.verification.sign_in import proof_in

pytestmark = pytest.mark.django_db

NUMBER = "+14255550123"
BACKUP = "ada@backup.example"
NEW_PASSWORD = "a brand new passphrase for ada 77"
START = "/recover/second-method/"
EMAIL_STEP = "/recover/second-method/email/"
PHONE_STEP = "/recover/second-method/phone/"

Later = Callable[..., None]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Iterator[Later]:
    """Moves the clock on for everything: ``timezone.now`` (the database's times) and ``time.time``."""
    real_now = timezone.now
    offset = [timedelta(0)]
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset[0])

    def advance(**delta: float) -> None:
        step = timedelta(**delta)
        offset[0] += step
        clock.advance(step.total_seconds())

    yield advance


@pytest.fixture
def ada(person: Person) -> Person:
    """Ada, signed in elsewhere, with a second verified address and a verified phone."""
    EmailAddress.objects.create(user=person.user, email=BACKUP, verified=True)
    PhoneNumber.objects.create(user=person.user, number=NUMBER, primary=True, verified_at=timezone.now())
    return person


def path_of(url: str) -> str:
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def prove(
    client: Client,
    mailbox: Mailbox,
    sms: SmsOutbox,
    commits: Commits,
    *,
    account: str = "ada@example.com",
    address: str = BACKUP,
    number: str = NUMBER,
    start: bool = True,
) -> Any:
    """Go through the proofs as a person would; returns the answer to the last code."""
    if start:
        response = client.post(START, {"account_email": account})
        assert response["Location"] == EMAIL_STEP
    response = client.post(EMAIL_STEP, {"action": "send", "address": address})
    assert response.status_code == 302, response.content.decode()[:3000]
    response = client.post(EMAIL_STEP, {"action": "verify", "code": mailbox.last_code(address)})
    assert response["Location"] == PHONE_STEP, response.content.decode()[:3000]
    response = client.post(PHONE_STEP, {"action": "send", "number": number})
    assert response.status_code == 302
    with commits(execute=True):
        return client.post(PHONE_STEP, {"action": "verify", "code": sms.last_code(number)})


def test_the_waiting_period_recovery_end_to_end(
    user_with_two_step: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, later: Later
) -> None:
    ada = user_with_two_step
    EmailAddress.objects.create(user=ada.user, email=BACKUP, verified=True)
    PhoneNumber.objects.create(user=ada.user, number=NUMBER, primary=True, verified_at=timezone.now())
    trusted = TrustedDevice.objects.create(
        user=ada.user, token_hash="x" * 64, expires_at=timezone.now() + timedelta(days=30)
    )
    mailbox.clear()

    # Someone who lost the authenticator app and the recovery codes proves the address and number.
    stranger = browser()
    response = prove(stranger, mailbox, sms, commits)
    assert response["Location"] == "/recover/second-method/waiting/"
    page = stranger.get(response["Location"]).content.decode()
    assert "Your recovery has started" in page
    recovery = AccountRecovery.objects.get()
    assert recovery.status == RecoveryStatus.WAITING and recovery.user == ada.user
    assert recovery.proven_email == BACKUP and recovery.proven_phone == NUMBER
    assert timedelta(days=6, hours=23) < recovery.ready_at - timezone.now() <= timedelta(days=7)

    # Every address is told at once, with a link to cancel: both mailboxes and the phone.
    for address in ("ada@example.com", BACKUP):
        notices = [m for m in mailbox.to(address) if "recovering your account" in m["Subject"]]
        assert len(notices) == 1, [m["Subject"] for m in mailbox.to(address)]
        assert "/recover/cancel/" in Mailbox.text(notices[0])
    assert any("/recover/cancel/" in body for body in sms.messages(NUMBER))

    # Before the wait is over it cannot be completed, whichever way.
    assert (
        stranger.get("/recover/second-method/new-password/")["Location"] == "/recover/second-method/waiting/"
    )
    with pytest.raises(RecoveryRefused) as refused:
        complete_account_recovery(recovery=recovery, request=None, password=NEW_PASSWORD)
    assert refused.value.code == "not_ready"
    with commits(execute=True):
        call_command("ready_due_recoveries", stdout=io.StringIO())
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING

    # A week later the scheduled run marks it ready and mails the proven address, once.
    later(days=7, minutes=1)
    mailbox.clear()
    with commits(execute=True):
        call_command("ready_due_recoveries", stdout=io.StringIO())
        call_command("ready_due_recoveries", stdout=io.StringIO())
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.READY
    ready = [m for m in mailbox.to(BACKUP) if "ready" in m["Subject"]]
    assert len(ready) == 1 and not mailbox.to("ada@example.com")

    # The link leads back to the proofs (the account filled in); then a new password.
    match = re.search(r"https?://\S+/recover/second-method/continue/\S+/", Mailbox.text(ready[0]))
    assert match
    finisher = browser()
    response = finisher.get(path_of(match.group(0)))
    assert response["Location"] == "/recover/second-method/continue/"
    assert finisher.get(response["Location"])["Location"] == EMAIL_STEP
    response = prove(finisher, mailbox, sms, commits, address="ada@example.com", start=False)
    assert response["Location"] == "/recover/second-method/new-password/"
    weak = finisher.post(response["Location"], {"password1": "password"})
    assert weak.status_code == 200 and "field--error" in weak.content.decode()
    mailbox.clear()
    with commits(execute=True):
        response = finisher.post("/recover/second-method/new-password/", {"password1": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/security/", response

    # Signed in (no second step asked), freshly, marked as a recovery's session.
    page = finisher.get("/security/")
    assert page.status_code == 200
    assert "remove the sign-in methods you lost" in page.content.decode()
    assert proof_in(finisher.session).vouched_by == "account_recovery"
    records = finisher.session["account_authentication_methods"]
    assert records[-1]["method"] == "password" and 0 <= time.time() - records[-1]["at"] < 60
    # The lost authenticator app is replaced at once: a new method added, the app removed
    # without the cooling-off wait (the session is vouched for by the recovery).
    phone = PhoneNumber.objects.get(user=ada.user)
    with commits(execute=True):
        finisher.post("/security/add/text-message/", {"phone": phone.pk})
    app = SignInMethod.objects.get(user=ada.user, kind=MethodKind.AUTHENTICATOR_APP)
    with commits(execute=True):
        finisher.post(f"/security/methods/{app.public_id}/remove/")
    assert not SignInMethod.objects.filter(pk=app.pk).exists()
    assert SignInMethod.objects.filter(user=ada.user, kind=MethodKind.TEXT_MESSAGE).exists()
    # Every other session ended, trusted devices forgotten, the password changed.
    assert not is_signed_in(ada.client)
    trusted.refresh_from_db()
    assert trusted.revoked_at is not None
    ada.user.refresh_from_db()
    assert ada.user.check_password(NEW_PASSWORD)
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.COMPLETED and recovery.completed_at is not None
    # Recorded and told: every address by mail, the phone by text message.
    codes = set(SecurityEvent.objects.filter(user=ada.user).values_list("code", flat=True))
    assert {"account:recovery:start", "account:recovery:ready", "account:recovery:complete"} <= codes
    for address in ("ada@example.com", BACKUP):
        assert any("Account recovered" in m["Subject"] for m in mailbox.to(address))
    assert any("recovered" in body for body in sms.messages(NUMBER))
    # The completion link cannot be used again.
    assert finisher.get(path_of(match.group(0)))["Location"] == "/recover/second-method/continue/"


def test_only_one_open_recovery_per_account(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, later: Later
) -> None:
    prove(browser(), mailbox, sms, commits)
    later(minutes=2)
    mailbox.clear()
    again = browser()
    response = prove(again, mailbox, sms, commits)
    assert response["Location"] == "/recover/second-method/waiting/"
    assert "already started" in again.get(response["Location"]).content.decode()
    assert AccountRecovery.objects.count() == 1
    assert not [m for m in mailbox.messages if "recovering your account" in m["Subject"]]


def test_cancel_from_an_old_address_link_needs_the_button(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits
) -> None:
    prove(browser(), mailbox, sms, commits)
    notice = next(m for m in mailbox.to("ada@example.com") if "recovering your account" in m["Subject"])
    match = re.search(r"https?://\S+/recover/cancel/\S+/", Mailbox.text(notice))
    assert match
    owner = browser()
    # A mail scanner following the link cancels nothing; the token leaves the address bar.
    response = owner.get(path_of(match.group(0)))
    assert response["Location"] == "/recover/cancel/"
    assert Client().get(path_of(match.group(0))).status_code == 302
    recovery = AccountRecovery.objects.get()
    assert recovery.status == RecoveryStatus.WAITING
    page = owner.get("/recover/cancel/").content.decode()
    assert "Cancel this recovery" in page and 'method="post"' in page
    mailbox.clear()
    with commits(execute=True):
        response = owner.post("/recover/cancel/")
    assert "The recovery is cancelled" in response.content.decode()
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.CANCELLED and recovery.cancelled_by == CancelledBy.LINK
    assert SecurityEvent.objects.filter(code="account:recovery:cancel", user=ada.user).count() == 1
    for address in ("ada@example.com", BACKUP):
        assert any("recovery was cancelled" in Mailbox.text(m) for m in mailbox.to(address))
    assert any("cancelled" in body for body in sms.messages(NUMBER))
    # The link now cancels nothing more, and the recovery cannot be completed.
    assert "Nothing to cancel" in owner.get(path_of(match.group(0)), follow=True).content.decode()
    AccountRecovery.objects.filter(pk=recovery.pk).update(ready_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(RecoveryRefused) as refused:
        complete_account_recovery(recovery=recovery, request=None, password=NEW_PASSWORD)
    assert refused.value.code == "closed"


def test_signing_in_during_the_wait_cancels_it(
    user_with_two_step: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, clock: Clock
) -> None:
    ada = user_with_two_step
    EmailAddress.objects.create(user=ada.user, email=BACKUP, verified=True)
    PhoneNumber.objects.create(user=ada.user, number=NUMBER, primary=True, verified_at=timezone.now())
    prove(browser(), mailbox, sms, commits)
    recovery = AccountRecovery.objects.get()

    # The password alone is not a full sign-in: the recovery stays.
    owner = browser()
    assert sign_in(owner, ada.user)["Location"] == "/security/verify/"
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING
    clock.advance(31)
    mailbox.clear()
    with commits(execute=True):
        response = verify(owner, oathtool_code(ada.secret))
    assert response.status_code == 302 and is_signed_in(owner)
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.CANCELLED and recovery.cancelled_by == CancelledBy.SIGN_IN
    event = SecurityEvent.objects.get(code="account:recovery:cancel")
    assert event.details["by_sign_in"] is True
    alert = next(m for m in mailbox.to(BACKUP) if "cancelled" in Mailbox.text(m))
    assert "because you signed in" in Mailbox.text(alert)


def _page(response: Any, *noise: str) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    for value in noise:
        text = text.replace(value, "…")
    return text


def test_an_unknown_account_or_number_gets_the_same_answers_and_nothing_is_sent(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox
) -> None:
    mailbox.clear()
    answers = []
    for account, address, number in [
        ("nobody@example.com", "ada@example.com", NUMBER),  # no such account
        ("ada@example.com", "someone@example.com", "+14255550199"),  # not on the account
    ]:
        client = browser()
        client.post(START, {"account_email": account})
        sent = client.post(EMAIL_STEP, {"action": "send", "address": address}, follow=True)
        wrong = client.post(EMAIL_STEP, {"action": "verify", "code": "123456"})
        answers.append(
            (
                sent.redirect_chain,
                _page(sent, account, address),
                _page(wrong, account, address),
            )
        )
        # The phone step is reached only with a proved address; check its answer directly.
        session = client.session
        session["threshold.recovery.flow"]["email_ok"] = True
        session.save()
        texted = client.post(PHONE_STEP, {"action": "send", "number": number}, follow=True)
        answers[-1] += (_page(texted, account, address, number, "+1 425-555-0199", "+1 425-555-0123"),)
    assert answers[0] == answers[1]
    assert "is a verified address on your account, we've sent a 6-digit code to it" in answers[0][1]
    assert "That code isn&#x27;t right" in answers[0][2]
    assert "•" not in answers[0][3]  # no masked number is ever shown
    assert not mailbox.messages
    assert not sms.messages()
    assert not AccountRecovery.objects.exists()


def test_codes_are_limited_alike_for_known_and_unknown_accounts(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox
) -> None:
    for account, address in [("ada@example.com", BACKUP), ("nobody@example.com", "nobody@example.com")]:
        client = browser()
        client.post(START, {"account_email": account})
        assert client.post(EMAIL_STEP, {"action": "send", "address": address}).status_code == 302
        again = client.post(EMAIL_STEP, {"action": "send", "address": address})
        assert again.status_code == 200
        assert "asked for several codes in a short time" in again.content.decode()
        for _ in range(5):
            wrong = client.post(EMAIL_STEP, {"action": "verify", "code": "000000"})
            assert "That code isn&#x27;t right" in wrong.content.decode()
        stopped = client.post(EMAIL_STEP, {"action": "verify", "code": "000000"})
        assert "several wrong codes" in stopped.content.decode()
    # Even the right code is refused now for the real address.
    client = browser()
    client.post(START, {"account_email": "ada@example.com"})
    session = client.session
    session["threshold.recovery.flow"].update(email=BACKUP, email_sent=True)
    session.save()
    right = client.post(EMAIL_STEP, {"action": "verify", "code": mailbox.last_code(BACKUP)})
    assert "several wrong codes" in right.content.decode()


def test_the_scheduled_run_expires_a_recovery_left_unfinished(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits
) -> None:
    prove(browser(), mailbox, sms, commits)
    recovery = AccountRecovery.objects.get()
    AccountRecovery.objects.filter(pk=recovery.pk).update(
        ready_at=timezone.now() - timedelta(days=20), expires_at=timezone.now() - timedelta(days=6)
    )
    with commits(execute=True):
        assert tasks.ready_due_recoveries.enqueue().return_value == {"ready": 0, "expired": 1}
        assert mark_due_recoveries_ready() == (0, 0)
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.EXPIRED
    assert SecurityEvent.objects.filter(code="account:recovery:expire", user=ada.user).exists()


def test_a_signed_in_person_is_sent_to_security_info(ada: Person) -> None:
    assert ada.client.get(START)["Location"] == "/security/"


def test_the_wait_follows_the_setting(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, settings: Any
) -> None:
    settings.RECOVERY_WAIT_DAYS = 2
    prove(browser(), mailbox, sms, commits)
    recovery = AccountRecovery.objects.get()
    assert timedelta(days=1, hours=23) < recovery.ready_at - timezone.now() <= timedelta(days=2)


def test_completing_a_recovery_lifts_the_account_lock(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, later: Later
) -> None:
    User.objects.filter(pk=ada.user.pk).update(locked_at=timezone.now())
    prove(browser(), mailbox, sms, commits)
    later(days=7, minutes=1)
    finisher = browser()
    assert prove(finisher, mailbox, sms, commits)["Location"] == "/recover/second-method/new-password/"
    with commits(execute=True):
        response = finisher.post("/recover/second-method/new-password/", {"password1": NEW_PASSWORD})
    assert response["Location"] == "/security/" and is_signed_in(finisher)
    ada.user.refresh_from_db()
    assert ada.user.locked_at is None
