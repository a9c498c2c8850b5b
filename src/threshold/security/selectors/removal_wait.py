"""Replacing every sign-in method: the window, the wait and the older methods and addresses."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from threshold.accounts.models import PhoneNumber
from threshold.activity.models import SecurityEvent
from threshold.devices.selectors import uuids
from threshold.security.models import MethodKind, RecoveryCode, RemovalStatus, ScheduledRemoval, SignInMethod
from threshold.security.selectors.challenge import (
    SECOND_STEP_SESSION_KEY,
    SecondStepOption,
    second_step_options,
)
from threshold.security.selectors.methods import SECOND_STEP_KINDS, second_step_methods
from threshold.verification.sign_in import fresh_sign_in_seconds


def window_start(now: datetime | None = None) -> datetime:
    """Methods, codes and addresses from before this moment are the account's older ones."""
    return (now or timezone.now()) - timedelta(days=settings.SECURITY_INFO_WINDOW_DAYS)


def wait_days() -> int:
    return int(settings.SECURITY_INFO_WAIT_DAYS)


def pending_removals(user: Any) -> QuerySet[ScheduledRemoval]:
    return ScheduledRemoval.objects.filter(user=user, status=RemovalStatus.PENDING).select_related("method")


def pending_removal(user: Any, public_id: Any) -> ScheduledRemoval | None:
    return pending_removals(user).filter(public_id=public_id).first()


def removal_by_token(token: str) -> ScheduledRemoval | None:
    """The removal a cancel link names, whatever its state; None for an unknown token.

    SECURITY: the token carries 256 random bits and only its SHA-256 is stored, so the
    lookup by hash reveals nothing a timing attack could use.
    """
    if not token or len(token) > 128:
        return None
    return (
        ScheduledRemoval.objects.filter(cancel_token_hash=token_digest(token)).select_related("user").first()
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def older_methods(user: Any, *, before: datetime) -> QuerySet[SignInMethod]:
    """Second-step methods the account had before ``before`` (pending removal or not)."""
    return second_step_methods(user).filter(created_at__lt=before)


def removal_must_wait(user: Any, methods: list[SignInMethod], *, now: datetime | None = None) -> bool:
    """Whether removing ``methods`` would take away the last of the account's older methods.

    Older means added before the window (``SECURITY_INFO_WINDOW_DAYS``). A method already
    waiting for its removal no longer counts as one that stays. An account whose methods
    were all added within the window has no older method, so its removals never wait: see
    ``services.methods.remove_sign_in_method`` for why that is accepted.
    """
    start = window_start(now)
    if not any(m.kind in SECOND_STEP_KINDS and m.created_at < start for m in methods):
        return False
    staying = (
        older_methods(user, before=start)
        .exclude(pk__in=[m.pk for m in methods])
        .exclude(scheduled_removals__status=RemovalStatus.PENDING)
    )
    return not staying.exists()


def proved_older_method(request: HttpRequest | None, user: Any, *, before: datetime) -> str:
    """The kind of older method this session proved within the fresh-sign-in window, or "".

    Two records count: our note of the second step at sign-in (any method, or a recovery
    code) and allauth's record of an authenticator used (a passkey sign-in, a re-sign-in
    with an authenticator app or a passkey). The method must have been added before
    ``before``; a recovery code must have been made before it.
    """
    if request is None or not hasattr(request, "session"):
        return ""
    now = time.time()

    def recent(at: Any) -> bool:
        return isinstance(at, int | float) and 0 <= now - float(at) < fresh_sign_in_seconds()

    note = request.session.get(SECOND_STEP_SESSION_KEY)
    if isinstance(note, dict) and note.get("user") == str(user.pk) and recent(note.get("at")):
        ids = uuids([str(note.get("method") or "")])
        if ids:
            method = SignInMethod.objects.filter(user=user, public_id=ids[0], created_at__lt=before).first()
            if method is not None:
                return str(method.kind)
        if (
            note.get("recovery_code")
            and RecoveryCode.objects.filter(
                user=user, pk=note["recovery_code"], created_at__lt=before
            ).exists()
        ):
            return "recovery_code"
    for record in get_authentication_records(request, user):
        if not isinstance(record, dict) or record.get("method") != "mfa" or not recent(record.get("at")):
            continue
        if not isinstance(record.get("id"), int):
            continue
        method = SignInMethod.objects.filter(
            user=user, authenticator_id=record["id"], created_at__lt=before
        ).first()
        if method is not None:
            return str(method.kind)
    return ""


def confirm_options(user: Any, removal: ScheduledRemoval) -> list[SecondStepOption]:
    """The ways to confirm a waiting removal: the older methods, and older recovery codes."""
    before = window_start(removal.requested_at)
    older_passkey = older_methods(user, before=before).filter(kind=MethodKind.PASSKEY).exists()
    return [
        option
        for option in second_step_options(user)
        # One option stands for every passkey: offered if any of them is older (the answer
        # must then come from an older one, see ``services.removal_wait.confirm_removal``).
        if (option.kind == MethodKind.PASSKEY and older_passkey)
        or (
            option.kind != MethodKind.PASSKEY
            and option.method is not None
            and option.method.created_at < before
        )
        or (option.kind == "recovery_code" and older_recovery_codes_left(user, before=before))
    ]


def older_recovery_codes_left(user: Any, *, before: datetime) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True, created_at__lt=before).count()


@dataclass(frozen=True)
class OlderAddresses:
    emails: list[str]
    phones: list[str]


def older_addresses(user: Any, *, before: datetime) -> OlderAddresses:
    """Where to tell the person about a waiting removal: addresses from before the window.

    Verified email addresses not added since ``before`` (allauth keeps no date on them, so
    the activity log's "email address added" events tell), verified addresses removed since
    then (whoever replaces every method may remove the owner's address first), and phone
    numbers verified before ``before``.
    """
    since = SecurityEvent.objects.filter(user=user, occurred_at__gte=before)
    added = {
        str(d.get("email", "")).lower()
        for d in since.filter(code="account:email:add").values_list("details", flat=True)
        if isinstance(d, dict)
    }
    emails: dict[str, str] = {}
    for address in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        if address.lower() not in added:
            emails.setdefault(address.lower(), address)
    for details in since.filter(code="account:email:remove").values_list("details", flat=True):
        if isinstance(details, dict) and details.get("was_verified") and details.get("email"):
            address = str(details["email"])
            if address.lower() not in added:
                emails.setdefault(address.lower(), address)
    phones = list(
        PhoneNumber.objects.filter(user=user, verified_at__lt=before)
        .order_by("-primary", "created_at")
        .values_list("number", flat=True)
    )
    return OlderAddresses(emails=list(emails.values()), phones=phones)
