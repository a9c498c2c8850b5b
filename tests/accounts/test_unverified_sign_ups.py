"""A sign-up nobody verified does not hold its address: a new sign-up replaces it, and it expires.

SECURITY: someone who signs up with another person's address and never verifies it would keep
the owner out: the owner's sign-up was told the account exists, and a reset sends nothing to an
unverified address.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.accounts.counting_hasher import CountingHasher
from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts import services, tasks
from threshold.accounts.models import AccountKind, PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.orgs.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db

ADA = "ada@example.com"
SQUATTER_PASSWORD = "the squatter's own passphrase 41"


def sign_up(client: Client, email: str, password: str, given_name: str = "Ada") -> Any:
    client.get("/accounts/signup/")
    return client.post(
        "/accounts/signup/",
        {"given_name": given_name, "family_name": "King", "email": email, "password1": password},
    )


def squat(mailbox: Mailbox, email: str = ADA) -> User:
    assert sign_up(Client(), email, SQUATTER_PASSWORD, given_name="Mallory")["Location"] == (
        "/accounts/confirm-email/"
    )
    mailbox.clear()
    # Time passes: allauth sends an address at most one code every 10 seconds.
    cache.clear()
    return User.objects.get(email=email)


def normalised(response: Any, email: str) -> str:
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(email, "EMAIL")


def test_the_owners_sign_up_replaces_an_unverified_one_and_verifies(mailbox: Mailbox) -> None:
    squatter = squat(mailbox)
    SecurityEvent.objects.create(occurred_at=timezone.now(), code="account:create", user=squatter)
    owner = Client()
    response = sign_up(owner, ADA, PASSWORD)
    assert response["Location"] == "/accounts/confirm-email/"
    # A code, not "you already have an account".
    (message,) = mailbox.to(ADA)
    assert "already" not in Mailbox.text(message).lower()
    assert owner.post("/accounts/confirm-email/", {"code": mailbox.last_code(ADA)}).status_code == 302
    assert owner.get("/").status_code == 200
    account = User.objects.get(email=ADA)
    assert account.pk != squatter.pk and account.given_name == "Ada"
    assert account.check_password(PASSWORD)
    assert EmailAddress.objects.get(email=ADA).verified
    assert not User.objects.filter(pk=squatter.pk).exists()
    assert not EmailAddress.objects.filter(user_id=squatter.pk).exists()
    discarded = SecurityEvent.objects.get(code="account:signup:discard")
    assert discarded.user is None and discarded.subject_label == ADA
    assert discarded.subject_public_id == squatter.public_id
    assert discarded.details["reason"] == "replaced"


def test_the_answer_does_not_tell_that_someone_had_squatted(mailbox: Mailbox) -> None:
    squat(mailbox)
    answers = {}
    for email in (ADA, "new@example.com"):
        client = Client()
        posted = sign_up(client, email, PASSWORD)
        answers[email] = (posted, client.get(posted["Location"]))
    (squatted_posted, squatted_page), (new_posted, new_page) = answers[ADA], answers["new@example.com"]
    assert squatted_posted.status_code == new_posted.status_code == 302
    assert squatted_posted["Location"] == new_posted["Location"]
    assert sorted(squatted_posted.cookies) == sorted(new_posted.cookies)
    assert normalised(squatted_page, ADA) == normalised(new_page, "new@example.com")


def test_replacing_costs_the_same_one_password_hash_as_a_new_sign_up(mailbox: Mailbox, settings: Any) -> None:
    settings.PASSWORD_HASHERS = [CountingHasher.PATH]
    squat(mailbox)
    CountingHasher.reset()
    sign_up(Client(), "new@example.com", PASSWORD)
    new_account = CountingHasher.total()
    cache.clear()
    CountingHasher.reset()
    sign_up(Client(), ADA, PASSWORD)
    assert (new_account, CountingHasher.total()) == (1, 1)


def test_the_squatters_session_is_left_with_nothing(mailbox: Mailbox) -> None:
    squatter_browser = Client()
    sign_up(squatter_browser, ADA, SQUATTER_PASSWORD, given_name="Mallory")
    cache.clear()
    sign_up(Client(), ADA, PASSWORD)
    code = mailbox.last_code(ADA)
    # The code sent for the owner's sign-up does nothing in the squatter's browser.
    response = squatter_browser.post("/accounts/confirm-email/", {"code": code})
    assert response.status_code in (200, 302)
    assert squatter_browser.get("/").status_code == 302
    assert not EmailAddress.objects.get(email=ADA).verified
    # The squatter's password no longer opens anything.
    assert not User.objects.get(email=ADA).check_password(SQUATTER_PASSWORD)


def _verified_phone(user: User) -> None:
    PhoneNumber.objects.create(user=user, number="+14255550123", primary=True, verified_at=timezone.now())


def _member(user: User) -> None:
    organization = Organization.objects.create(name="Contoso", slug="contoso")
    Membership.objects.create(user=user, organization=organization, role=Role.MEMBER)


def _signed_in_once(user: User) -> None:
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())


def _staff(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=True)


def _verified_other_address(user: User) -> None:
    EmailAddress.objects.create(user=user, email="ada@elsewhere.example", verified=True)


@pytest.mark.parametrize(
    "more", [_verified_phone, _member, _signed_in_once, _staff, _verified_other_address, None]
)
def test_an_account_with_anything_proved_is_never_replaced(mailbox: Mailbox, more: Any) -> None:
    # None: the plainest case, the address itself is verified.
    holder = make_user(ADA, password=SQUATTER_PASSWORD, verified=more is None)
    if more is not None:
        more(holder)
    mailbox.clear()
    assert sign_up(Client(), ADA, PASSWORD)["Location"] == "/accounts/confirm-email/"
    holder.refresh_from_db()
    assert holder.check_password(SQUATTER_PASSWORD)
    assert User.objects.filter(email=ADA).count() == 1
    assert "already" in Mailbox.text(mailbox.to(ADA)[0]).lower()
    assert not SecurityEvent.objects.filter(code="account:signup:discard").exists()


def test_a_sign_up_verified_meanwhile_is_kept(mailbox: Mailbox) -> None:
    squatter = squat(mailbox)
    replaces = [squatter.pk]
    EmailAddress.objects.filter(user=squatter).update(verified=True)
    assert services.replace_unverified_sign_ups(user_ids=replaces, request=None) is False
    assert User.objects.filter(pk=squatter.pk).exists()


def test_expired_unverified_sign_ups_are_purged(mailbox: Mailbox, settings: Any) -> None:
    settings.UNVERIFIED_SIGNUP_HOURS = 6
    old = squat(mailbox, "old@example.com")
    fresh = squat(mailbox, "fresh@example.com")
    verified_old = make_user("verified@example.com")
    work = make_user("work@contoso.example", verified=False)
    User.objects.filter(pk=work.pk).update(
        kind=AccountKind.WORK, organization=Organization.objects.create(name="Contoso", slug="contoso")
    )
    long_ago = timezone.now() - timedelta(hours=7)
    User.objects.filter(pk__in=[old.pk, verified_old.pk, work.pk]).update(date_joined=long_ago)
    User.objects.filter(pk=fresh.pk).update(date_joined=timezone.now() - timedelta(hours=5))
    output = io.StringIO()
    call_command("discard_expired_sign_ups", stdout=output)
    assert output.getvalue().startswith("Deleted 1 sign-up(s)")
    assert set(User.objects.values_list("email", flat=True)) == {
        "fresh@example.com",
        "verified@example.com",
        "work@contoso.example",
    }
    event = SecurityEvent.objects.get(code="account:signup:discard")
    assert event.subject_label == "old@example.com" and event.details["reason"] == "expired"
    # The task does the same, and a second run finds nothing more.
    User.objects.filter(pk=fresh.pk).update(date_joined=long_ago)
    assert tasks.discard_expired_sign_ups.call() == 1
    assert services.discard_expired_sign_ups() == 0
    assert not User.objects.filter(email="fresh@example.com").exists()
