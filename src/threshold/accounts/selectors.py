"""Reads about accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from threshold.accounts.models import AccountKind, PhoneNumber, User


def language_for_email(email: str) -> str:
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    if address is not None:
        return address.user.locale
    user = User.objects.filter(email__iexact=email).only("locale").first()
    return user.locale if user else settings.LANGUAGE_CODE


def email_addresses(user: User) -> QuerySet[EmailAddress]:
    return EmailAddress.objects.filter(user=user).order_by("-primary", "email")


def verified_emails(user: User) -> list[str]:
    return list(EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True))


def phone_numbers(user: User) -> QuerySet[PhoneNumber]:
    return PhoneNumber.objects.filter(user=user).order_by("-primary", "created_at")


def phone_of(user: User, public_id: uuid.UUID) -> PhoneNumber | None:
    """One of the account's own numbers; None for another account's, so views answer 404."""
    return PhoneNumber.objects.filter(user=user, public_id=public_id).first()


def can_add_phone(user: User) -> bool:
    return PhoneNumber.objects.filter(user=user).count() < settings.PHONE_MAX_NUMBERS


def photo_of(user: User) -> tuple[bytes, datetime] | None:
    """The stored photo bytes and when they changed, or None without a photo."""
    row = (
        User.objects.filter(pk=user.pk, photo__isnull=False, photo_updated_at__isnull=False)
        .values_list("photo", "photo_updated_at")
        .first()
    )
    if row is None or row[0] is None or row[1] is None:
        return None
    return bytes(row[0]), row[1]


def user_by_email(email: str) -> Any:
    return User.objects.filter(email__iexact=email.strip()).first()


def read_as_for_a_pending_sign_up(email: str) -> None:
    """The reads "Send a new code" makes for a pending sign-up, made for the account that already
    has ``email``: its account (twice: once for the sign-in waiting on the code, once for the
    code) and its address.

    SECURITY: a sign-up with an address that already has an account is told, as a new one is,
    that a code was sent (``ACCOUNT_PREVENT_ENUMERATION``); asking for a new code must then
    make the same queries too (``accounts.views.ConfirmEmailCodeView``).
    """
    address = email.strip()
    User.objects.filter(email__iexact=address).first()
    User.objects.filter(email__iexact=address).first()
    EmailAddress.objects.filter(email__iexact=address).first()


def users_for_sign_in(email: str) -> list[User]:
    """The accounts a password typed with ``email`` is checked against, as allauth finds them:
    those with a verified address ``email`` if any, else those with it unverified or as their
    account email. Each account once, so a wrong password is hashed once.

    SECURITY: both reads run for every address. allauth's own lookup skips the second when a
    verified address matches, so an unknown address made one query more than a known one.
    """
    address = email.strip().lower()
    addresses = [
        e
        for e in EmailAddress.objects.filter(email=address).select_related("user")
        if e.email.lower() == address
    ]
    by_field = [u for u in User.objects.filter(email=address) if u.email.lower() == address]
    verified = [e.user for e in addresses if e.verified]
    found = verified or [*(e.user for e in addresses), *by_field]
    return list({user.pk: user for user in found}.values())


def session_count(user: User) -> int:
    return UserSession.objects.filter(user=user).count()


def unverified_sign_ups() -> QuerySet[User]:
    """Accounts made by a sign-up that nobody has proved anything on: nothing on them to lose.

    SECURITY: only a personal account that never signed in, with no verified address or phone
    number, no sign-in method, no organisation, no staff rights and no closure under way counts.
    Anything more means someone proved or was given something, and it is never discarded.
    """
    return (
        User.objects.filter(
            kind=AccountKind.PERSONAL,
            organization__isnull=True,
            is_staff=False,
            is_superuser=False,
            last_login__isnull=True,
            closure_requested_at__isnull=True,
            closed_at__isnull=True,
        )
        .exclude(emailaddress__verified=True)
        .exclude(phone_numbers__verified_at__isnull=False)
        .exclude(authenticator__isnull=False)
        .exclude(memberships__isnull=False)
        .exclude(invitations__isnull=False)
    )


def sign_ups_replaced_by(email: str) -> list[int]:
    """The accounts a new sign-up for ``email`` replaces: every account holding the address,
    when each of them is an unverified sign-up; otherwise none.

    SECURITY: one query, whether or not the address has an account, and run by every sign-up
    (``accounts.allauth_forms.SignupForm``): a second read only for a taken address would tell
    the two apart.
    """
    holders = dict(
        User.objects.filter(Q(email__iexact=email) | Q(emailaddress__email__iexact=email))
        .annotate(replaceable=Exists(unverified_sign_ups().filter(pk=OuterRef("pk"))))
        .values_list("pk", "replaceable")
    )
    return sorted(holders) if holders and all(holders.values()) else []


def read_as_for_a_new_sign_up(user: User) -> None:
    """The reads allauth's "confirm your address" step makes for a new account, made for the
    stand-in sign-up of an address that already has one (``accounts.allauth_forms.SignupForm``):
    whether it has a verified address, its first address, that address's account, and the
    address again for the code.

    ``tests/accounts/test_same_work.py`` holds these to allauth's own reads.
    """
    EmailAddress.objects.filter(user_id=user.pk, verified=True).exists()
    address = EmailAddress.objects.filter(user_id=user.pk).order_by("-primary", "-verified").first()
    if address is not None:
        User.objects.filter(pk=address.user_id).first()
        EmailAddress.objects.filter(user_id=address.user_id, email=address.email).first()
