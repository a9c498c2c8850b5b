"""Recovery requests reviewed by an operator, for people with no sign-in method left."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from tests.config.staff_support import staff_operator
from tests.conftest import Mailbox, SmsOutbox, make_user
from tests.security.conftest import Commits, Person, browser, is_signed_in
from threshold.accounts.models import Organization, PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.recovery.models import AccountRecovery, Decision, RecoveryKind, RecoveryStatus
from threshold.recovery.services.closure import close_one_account
from threshold.recovery.services.recovery_completion import complete_account_recovery
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.recovery.services.recovery_requests import decide_recovery_request
from threshold.verification.sign_in import proof_in

pytestmark = pytest.mark.django_db

CONTACT = "ada.personal@mail.example"
NUMBER = "+14255550123"
NEW_PASSWORD = "a brand new passphrase for ada 77"

CLAIMS = {
    "names": "Ada Lovelace",
    "created": "March 2024",
    "places": "London",
    "subscriptions": "none",
    "other": "I added a backup address in 2025",
}


def ask(client: Client, *, account: str = "ada@example.com", contact: str = CONTACT) -> Any:
    return client.post("/recover/request/", {"account_email": account, "contact_email": contact, **CLAIMS})


def queue(client: Client, mailbox: Mailbox, commits: Commits, **kwargs: str) -> AccountRecovery:
    contact = kwargs.get("contact", CONTACT)
    assert ask(client, **kwargs)["Location"] == "/recover/request/confirm/"
    with commits(execute=True):
        response = client.post(
            "/recover/request/confirm/", {"action": "verify", "code": mailbox.last_code(contact)}
        )
    assert response["Location"] == "/recover/request/sent/", response.content.decode()[:2000]
    return AccountRecovery.objects.filter(kind=RecoveryKind.REVIEWED).latest("requested_at")


@pytest.fixture
def ada(person: Person) -> Person:
    PhoneNumber.objects.create(user=person.user, number=NUMBER, primary=True, verified_at=timezone.now())
    return person


@pytest.fixture
def operator(db: Any, commits: Commits) -> Client:
    """An operator signed in with their passkey, as the staff admin asks."""
    return staff_operator(commits).client


def decide(operator: Client, recovery: AccountRecovery, decision: str, note: str = "") -> Any:
    return operator.post(
        f"/staff/recovery/accountrecovery/{recovery.pk}/decide/", {"decision": decision, "note": note}
    )


def test_an_unproved_contact_address_never_reaches_the_queue(ada: Person, mailbox: Mailbox) -> None:
    client = browser()
    assert ask(client)["Location"] == "/recover/request/confirm/"
    assert not AccountRecovery.objects.exists()
    assert "Your account recovery code" in mailbox.to(CONTACT)[0]["Subject"]
    wrong = client.post("/recover/request/confirm/", {"action": "verify", "code": "000000"})
    assert "That code isn&#x27;t right" in wrong.content.decode()
    assert not AccountRecovery.objects.exists()


def test_a_proved_request_is_queued_and_acknowledged(ada: Person, mailbox: Mailbox, commits: Commits) -> None:
    client = browser()
    recovery = queue(client, mailbox, commits)
    assert recovery.user == ada.user and recovery.status == RecoveryStatus.WAITING
    assert recovery.contact_email == CONTACT and recovery.claims["names"] == "Ada Lovelace"
    page = client.get("/recover/request/sent/").content.decode()
    assert "We've received your request" in page
    assert any("received" in m["Subject"] for m in mailbox.to(CONTACT))
    assert SecurityEvent.objects.filter(code="account:recovery:request", user=ada.user).exists()


def test_the_owner_hears_of_a_request_at_once_and_can_cancel_it(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, operator: Client
) -> None:
    EmailAddress.objects.create(user=ada.user, email="ada@backup.example", verified=True)
    EmailAddress.objects.create(user=ada.user, email="ada@unproved.example", verified=False)
    recovery = queue(browser(), mailbox, commits)
    # Every verified address, by mail and text message, with a link to cancel; no other address.
    links = set()
    for address in ("ada@example.com", "ada@backup.example"):
        notices = [m for m in mailbox.to(address) if "recovering your account" in m["Subject"]]
        assert len(notices) == 1, address
        text = Mailbox.text(notices[0])
        assert "asked our support team to recover your account" in text
        match = re.search(r"https?://[^/\s]+(/recover/cancel/\S+/)", text)
        assert match
        links.add(match.group(1))
    assert not mailbox.to("ada@unproved.example")
    assert not mailbox.to(CONTACT) or all(
        "recovering your account" not in m["Subject"] for m in mailbox.to(CONTACT)
    )
    assert any("/recover/cancel/" in body for body in sms.messages(NUMBER))
    (link,) = links
    # The same link, session and button as the waiting-period recovery's.
    owner = browser()
    assert owner.get(link)["Location"] == "/recover/cancel/"
    assert AccountRecovery.objects.get(pk=recovery.pk).status == RecoveryStatus.WAITING
    with commits(execute=True):
        answer = owner.post("/recover/cancel/")
    assert "The recovery is cancelled" in answer.content.decode()
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.CANCELLED
    assert SecurityEvent.objects.filter(code="account:recovery:cancel", user=ada.user).count() == 1
    # The operator can no longer approve it.
    decide(operator, recovery, "approve")
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.CANCELLED and not recovery.decision


def test_the_first_cancel_link_still_works_after_an_approval(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, operator: Client
) -> None:
    recovery = queue(browser(), mailbox, commits)
    filed = next(m for m in mailbox.to("ada@example.com") if "recovering your account" in m["Subject"])
    match = re.search(r"https?://[^/\s]+(/recover/cancel/\S+/)", Mailbox.text(filed))
    assert match
    with commits(execute=True):
        decide(operator, recovery, "approve")
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.READY
    owner = browser()
    owner.get(match.group(1))
    assert "Cancel this recovery" in owner.get("/recover/cancel/").content.decode()
    with commits(execute=True):
        owner.post("/recover/cancel/")
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.CANCELLED
    assert recovery.filed_cancel_token_hash == recovery.cancel_token_hash == ""
    # The approved completion link is dead too.
    approved = next(m for m in mailbox.to(CONTACT) if "approved" in m["Subject"])
    completion = re.search(r"https?://\S+(/recover/complete/\S+/)", Mailbox.text(approved))
    assert completion
    person = browser()
    person.get(completion.group(1))
    assert person.get("/recover/complete/").status_code == 404


def test_a_request_for_no_account_tells_no_one_but_the_contact(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits
) -> None:
    queue(browser(), mailbox, commits, account="nobody@example.com")
    assert {str(m["To"]) for m in mailbox.messages} == {CONTACT}
    assert not sms.messages(NUMBER)
    recovery = AccountRecovery.objects.get()
    assert recovery.filed_cancel_token_hash == recovery.cancel_token_hash == ""


def test_an_unknown_account_gets_the_same_answers_and_is_kept_for_the_operator(
    ada: Person, mailbox: Mailbox, commits: Commits
) -> None:
    pages = []
    for account, contact in [
        ("ada@example.com", "one@mail.example"),
        ("nobody@example.com", "two@mail.example"),
    ]:
        client = browser()
        first = ask(client, account=account, contact=contact)
        confirm = client.get(first["Location"]).content.decode()
        with commits(execute=True):
            done = client.post(
                "/recover/request/confirm/",
                {"action": "verify", "code": mailbox.last_code(contact)},
                follow=True,
            )
        noise = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
        pages.append(
            (
                first["Location"],
                noise.sub("", confirm).replace(contact, "…"),
                done.redirect_chain,
                noise.sub("", done.content.decode()).replace(contact, "…"),
            )
        )
        received = [m for m in mailbox.to(contact) if "received" in m["Subject"]]
        assert len(received) == 1
    assert pages[0] == pages[1]
    unknown = AccountRecovery.objects.get(account_email="nobody@example.com")
    assert unknown.user is None


def test_a_work_or_school_domain_is_sent_to_its_admin(ada: Person, mailbox: Mailbox) -> None:
    Organization.objects.create(name="Contoso", slug="contoso", verified_domains=["Contoso.example"])
    for account in ("megan@contoso.example", "nobody@contoso.example"):
        response = ask(browser(), account=account)
        page = response.content.decode()
        assert response.status_code == 200
        assert "Your organisation manages this account" in page and "Temporary Access Pass" in page
        assert "Contoso" in page
    assert not mailbox.messages
    assert not AccountRecovery.objects.exists()


def test_requests_are_limited_per_contact_address(ada: Person, mailbox: Mailbox) -> None:
    for _ in range(3):
        assert ask(browser())["Location"] == "/recover/request/confirm/"
    refused = ask(browser())
    assert refused.status_code == 200
    assert "asked for several codes in a short time" in refused.content.decode()
    assert len(mailbox.to(CONTACT)) == 3


def test_approval_tells_the_account_and_mails_a_link_that_works_once(
    ada: Person, mailbox: Mailbox, sms: SmsOutbox, commits: Commits, operator: Client
) -> None:
    EmailAddress.objects.create(user=ada.user, email="ada@backup.example", verified=True)
    recovery = queue(browser(), mailbox, commits)
    mailbox.clear()
    with commits(execute=True):
        response = decide(operator, recovery, "approve", "Names and places match.")
    assert response.status_code == 302
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.READY and recovery.decision == Decision.APPROVED
    assert recovery.decided_by is not None and recovery.decided_by.email == "operator@threshold.example"
    assert recovery.decided_at is not None and recovery.note == "Names and places match."
    assert timedelta(hours=47) < recovery.expires_at - timezone.now() <= timedelta(hours=48)
    event = SecurityEvent.objects.get(code="account:recovery:approve")
    assert event.user == ada.user and event.actor_label == "operator@threshold.example"
    # Every address of the account is told at once, with a way to cancel.
    for address in ("ada@example.com", "ada@backup.example"):
        notice = next(m for m in mailbox.to(address) if "recovering your account" in m["Subject"])
        assert "/recover/cancel/" in Mailbox.text(notice)
    assert any("approved" in body for body in sms.messages(NUMBER))
    # The contact address gets the single-use link.
    approved = next(m for m in mailbox.to(CONTACT) if "approved" in m["Subject"])
    match = re.search(r"https?://\S+(/recover/complete/\S+/)", Mailbox.text(approved))
    assert match
    person = browser()
    assert person.get(match.group(1))["Location"] == "/recover/complete/"
    assert "Choose a new password" in person.get("/recover/complete/").content.decode()
    with commits(execute=True):
        response = person.post("/recover/complete/", {"password1": NEW_PASSWORD})
    assert response["Location"] == "/security/"
    assert is_signed_in(person) and not is_signed_in(ada.client)
    assert proof_in(person.session).vouched_by == "account_recovery"
    ada.user.refresh_from_db()
    assert ada.user.check_password(NEW_PASSWORD)
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.COMPLETED
    # Used once: the link is dead now, in any browser.
    again = browser()
    again.get(match.group(1))
    assert again.get("/recover/complete/").status_code == 404


def test_denial_mails_the_contact_address_what_they_can_do(
    ada: Person, mailbox: Mailbox, commits: Commits, operator: Client
) -> None:
    recovery = queue(browser(), mailbox, commits)
    mailbox.clear()
    with commits(execute=True):
        decide(operator, recovery, "deny", "The names don't match the account.")
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.DENIED and recovery.decision == Decision.DENIED
    denied = mailbox.to(CONTACT)
    assert len(denied) == 1
    text = Mailbox.text(denied[0])
    assert "What you can still do" in text and "The names don't match the account." in text
    assert not mailbox.to("ada@example.com")
    assert SecurityEvent.objects.filter(code="account:recovery:deny", user=ada.user).exists()
    # Decided once: a second decision is refused and changes nothing.
    with pytest.raises(RecoveryRefused):
        decide_recovery_request(
            recovery=recovery, staff_user=recovery.decided_by, approve=True, note="", request=None
        )


def test_a_request_for_no_account_can_only_be_denied(
    mailbox: Mailbox, commits: Commits, operator: Client
) -> None:
    recovery = queue(browser(), mailbox, commits, account="nobody@example.com")
    page = operator.get(f"/staff/recovery/accountrecovery/{recovery.pk}/change/").content.decode()
    assert "No such account" in page and 'value="approve"' not in page
    with pytest.raises(RecoveryRefused):
        decide_recovery_request(
            recovery=recovery, staff_user=User.objects.get(is_staff=True), approve=True, note="", request=None
        )
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING


def test_only_staff_decide(ada: Person, mailbox: Mailbox, commits: Commits) -> None:
    recovery = queue(browser(), mailbox, commits)
    with pytest.raises(PermissionDenied):
        decide_recovery_request(recovery=recovery, staff_user=ada.user, approve=True, note="", request=None)
    response = ada.client.post(
        f"/staff/recovery/accountrecovery/{recovery.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 403
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING


def test_the_queue_shows_claims_beside_the_accounts_facts(
    ada: Person, mailbox: Mailbox, commits: Commits, operator: Client
) -> None:
    older = queue(browser(), mailbox, commits)
    AccountRecovery.objects.filter(pk=older.pk).update(requested_at=timezone.now() - timedelta(days=1))
    newer = queue(browser(), mailbox, commits, contact="other@mail.example")
    listing = operator.get("/staff/recovery/accountrecovery/?status__exact=waiting&kind__exact=reviewed")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert text.index(f"/{older.pk}/change/") < text.index(f"/{newer.pk}/change/")  # oldest first
    detail = operator.get(f"/staff/recovery/accountrecovery/{older.pk}/change/")
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "Ada Lovelace" in page and "March 2024" in page  # the claims
    assert ada.user.date_joined.strftime("%B %Y") in page  # the account's facts
    assert "United Kingdom" in page or "GB" in page  # Ada's sign-in country (London)
    assert "None (Threshold has no subscriptions yet)" in page
    assert 'value="approve"' in page and 'value="deny"' in page


def test_the_staff_pages_are_for_staff_only(ada: Person, mailbox: Mailbox, commits: Commits) -> None:
    recovery = queue(browser(), mailbox, commits)
    for path in (
        "/staff/recovery/accountrecovery/",
        f"/staff/recovery/accountrecovery/{recovery.pk}/change/",
    ):
        assert ada.client.get(path).status_code == 403
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_the_request_page_cannot_be_edited_only_decided(
    ada: Person, mailbox: Mailbox, commits: Commits, operator: Client
) -> None:
    recovery = queue(browser(), mailbox, commits)
    page = operator.get(f"/staff/recovery/accountrecovery/{recovery.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    response = operator.post(f"/staff/recovery/accountrecovery/{recovery.pk}/change/", {"status": "ready"})
    assert response.status_code == 405
    assert operator.get(f"/staff/recovery/accountrecovery/{recovery.pk}/decide/").status_code == 405
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING


@pytest.mark.django_db(transaction=True)
def test_a_recovery_completes_once_when_used_twice_at_the_same_moment(mailbox: Mailbox) -> None:
    import threading

    from django.db import connection

    if connection.vendor == "sqlite":
        # The in-memory test database's shared cache answers "table is locked" instead of
        # waiting; a real SQLite file takes its write lock up front (IMMEDIATE), which
        # serialises the two completions by itself. The row lock is PostgreSQL's part.
        pytest.skip("two threads need PostgreSQL (the SQLite test database is in memory)")
    user = make_user("grace@example.com")
    now = timezone.now()
    recovery = AccountRecovery.objects.create(
        user=user,
        kind=RecoveryKind.REVIEWED,
        status=RecoveryStatus.READY,
        account_email=user.email,
        ready_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(hours=1),
    )
    barrier = threading.Barrier(2)
    results: list[str] = []

    def attempt(password: str) -> None:
        try:
            row = AccountRecovery.objects.get(pk=recovery.pk)
            barrier.wait(timeout=10)
            complete_account_recovery(recovery=row, request=None, password=password)
            results.append(password)
        except RecoveryRefused:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in (NEW_PASSWORD, NEW_PASSWORD + " two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results)[-1] == "refused" and len(results) == 2, results
    winner = next(r for r in results if r != "refused")
    user.refresh_from_db()
    assert user.check_password(winner)
    assert SecurityEvent.objects.filter(code="account:recovery:complete", user=user).count() == 1


def test_closing_the_operators_account_keeps_the_requests_they_decided(
    ada: Person, mailbox: Mailbox, commits: Commits, operator: Client
) -> None:
    recovery = queue(browser(), mailbox, commits)
    with commits(execute=True):
        decide(operator, recovery, "deny")
    staff = User.objects.get(email="operator@threshold.example")
    User.objects.filter(pk=staff.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    with commits(execute=True):
        assert close_one_account(pk=staff.pk)
    recovery.refresh_from_db()
    assert recovery.decision == Decision.DENIED and recovery.decided_by is None
