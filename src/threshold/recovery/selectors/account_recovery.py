"""Reads for account recovery, with a waiting period or reviewed by our support team."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db.models import Q

from threshold.accounts.models import Organization, PhoneNumber, User
from threshold.activity.selectors import countries_seen
from threshold.recovery.models import (
    OPEN_STATUSES,
    AccountRecovery,
    RecoveryKind,
)


def token_hash(token: str) -> str:
    """How a recovery link's token is stored: SHA-256 (the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def recovery_account(email: str) -> User | None:
    """The open account that ``email`` names (its sign-in address or another of its addresses).

    Closed, closing-complete and deactivated accounts are no account here.
    """
    email = email.strip()
    if not email:
        return None
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    user = address.user if address is not None else User.objects.filter(email__iexact=email).first()
    if user is None or not user.is_active or user.closed_at is not None:
        return None
    return user


def has_verified_email(user: Any, address: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=address.strip(), verified=True).exists()


def has_verified_phone(user: Any, number: str) -> bool:
    return PhoneNumber.objects.filter(user=user, number=number, verified_at__isnull=False).exists()


def verified_phones(user: Any) -> list[str]:
    return list(
        PhoneNumber.objects.filter(user=user, verified_at__isnull=False).values_list("number", flat=True)
    )


def managing_organization(email: str) -> Organization | None:
    """The organisation whose verified domain ``email`` is in: its admin helps, not us.

    Decided by the domain alone, never by looking the account up, so the answer says
    nothing about whether the account exists.
    """
    domain = email.strip().rpartition("@")[2].lower()
    if not domain:
        return None
    for organization in Organization.objects.only("name", "verified_domains"):
        domains = organization.verified_domains if isinstance(organization.verified_domains, list) else []
        if domain in {str(d).strip().lower() for d in domains}:
            return organization
    return None


def open_waiting_recovery(user: Any) -> AccountRecovery | None:
    return AccountRecovery.objects.filter(
        user=user, kind=RecoveryKind.WAITING_PERIOD, status__in=OPEN_STATUSES
    ).first()


def open_recovery_by_cancel_token(token: str) -> AccountRecovery | None:
    """The open recovery whose cancel link carries ``token``; None for any other token."""
    if not token:
        return None
    digest = token_hash(token)
    return (
        AccountRecovery.objects.select_related("user")
        .filter(Q(cancel_token_hash=digest) | Q(filed_cancel_token_hash=digest), status__in=OPEN_STATUSES)
        .first()
    )


def recovery_by_completion_token(token: str) -> AccountRecovery | None:
    """The recovery whose "ready" or approval link carries ``token`` (whatever its state)."""
    if not token:
        return None
    return (
        AccountRecovery.objects.select_related("user").filter(completion_token_hash=token_hash(token)).first()
    )


def recovery_by_public_id(public_id: Any) -> AccountRecovery | None:
    try:
        return AccountRecovery.objects.select_related("user").filter(public_id=public_id).first()
    except ValidationError:
        return None


@dataclass(frozen=True)
class AccountFacts:
    """What the account itself says, set beside a reviewed request's claims for the operator."""

    exists: bool
    email: str = ""
    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    created_at: Any = None
    kind: str = ""
    organization: str = ""
    sign_in_countries: tuple[str, ...] = ()
    has_subscriptions: bool = False  # there are no subscriptions in Threshold yet
    email_addresses: tuple[str, ...] = ()
    open_recoveries: int = 0


def account_facts(recovery: AccountRecovery) -> AccountFacts:
    user = recovery.user
    if user is None:
        return AccountFacts(exists=False)
    countries = tuple(
        f"{c.name or c.code or '?'} ({c.succeeded})" for c in countries_seen(user, days=90) if c.succeeded
    )
    return AccountFacts(
        exists=True,
        email=user.email,
        display_name=user.display_name,
        given_name=user.given_name,
        family_name=user.family_name,
        created_at=user.date_joined,
        kind=user.get_kind_display(),
        organization=user.organization.name if user.organization_id else "",  # type: ignore[union-attr]
        sign_in_countries=countries,
        email_addresses=tuple(EmailAddress.objects.filter(user=user).values_list("email", flat=True)),
        open_recoveries=AccountRecovery.objects.filter(user=user, status__in=OPEN_STATUSES)
        .exclude(pk=recovery.pk)
        .count(),
    )
