"""Temporary Access Pass: issuing, revoking and redeeming one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext

from threshold.accounts.selectors import user_by_email
from threshold.activity.models import Result
from threshold.activity.services import record_event, record_staff_change
from threshold.core.context import context_of
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import codes
from threshold.recovery.models import (
    TemporaryAccessPass,
)
from threshold.verification import hashing, throttle
from threshold.verification.sign_in import (
    ACCESS_PASS,
    note_vouched_sign_in,
    proving_sign_in,
)


class AccessPassNotIssued(Exception):
    """The pass was not issued; ``message`` says why (for the operator or admin who asked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessPassRefused(Exception):
    """The pass did not sign anyone in. SECURITY: one answer for every reason (see ``reason``,
    which is only recorded), so the sign-in page tells nothing about the account or the pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccessPassThrottled(Exception):
    """Too many pass sign-ins for this account or client address: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


OPERATOR = "operator (threshold issue_access_pass)"


def issue_access_pass(
    *,
    user: Any,
    issued_by: Any,
    request: HttpRequest | None,
    minutes: int | None = None,
    one_time: bool = True,
) -> tuple[TemporaryAccessPass, str]:
    """A new pass for ``user``, returned once in plain text; every earlier live pass stops working.

    ``issued_by`` is the staff member or organisation admin who asked (None for the operator's
    command). The person is told at once, on every verified address: a pass is a way into
    their account that they did not make themselves.

    SECURITY: a locked account gets its pass, but the pass will not sign in until the account
    is unlocked (a lock is the owner's emergency brake, which an issuer cannot release by
    accident); closing and closed accounts get none.
    """
    policies.require(user, Action.ACCESS_PASS_ISSUE, request=request)
    low, high = settings.ACCESS_PASS_MINUTES_BOUNDS
    minutes = settings.ACCESS_PASS_MINUTES if minutes is None else minutes
    if not low <= minutes <= high:
        raise AccessPassNotIssued(
            gettext("A pass can work for %(low)d to %(high)d minutes.") % {"low": low, "high": high}
        )
    if user.closed_at is not None or user.is_closing:
        raise AccessPassNotIssued(gettext("This account is closed or closing: it cannot have a pass."))
    plain = codes.new_access_pass()
    now = timezone.now()
    with transaction.atomic():
        revoked = TemporaryAccessPass.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)
        access_pass = TemporaryAccessPass.objects.create(
            user=user,
            issued_by=issued_by,
            pass_hash=codes.hash_access_pass(user_id=user.pk, normalized=codes.normalize_access_pass(plain)),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            one_time=one_time,
        )
        record_event(
            "account:access_pass:issue",
            user=user,
            request=request,
            actor=issued_by if issued_by is not None else OPERATOR,
            details={
                "pass": str(access_pass.public_id),
                "minutes": minutes,
                "one_time": one_time,
                "expires_at": access_pass.expires_at.isoformat(),
                "revoked_earlier": revoked,
            },
        )
    return access_pass, plain


def revoke_access_pass(
    *, access_pass: TemporaryAccessPass, revoked_by: Any, request: HttpRequest | None
) -> bool:
    """Stop a pass working; True if this call revoked it (False if it already was).

    A session the pass signed in ends at its next request (``recovery.restrictions``).
    """
    with transaction.atomic():
        revoked = TemporaryAccessPass.objects.filter(pk=access_pass.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record_event(
                "account:access_pass:revoke",
                user=access_pass.user,
                request=request,
                actor=revoked_by if revoked_by is not None else OPERATOR,
                details={"pass": str(access_pass.public_id)},
            )
    return bool(revoked)


def staff_revoke_access_pass(
    *, access_pass: TemporaryAccessPass, operator: Any, request: HttpRequest | None
) -> bool:
    """An operator's "revoke" in the staff admin: the pass stops working, on both Recent activities."""
    with transaction.atomic():
        revoked = revoke_access_pass(access_pass=access_pass, revoked_by=operator, request=request)
        if revoked:
            record_staff_change(
                operator=operator,
                request=request,
                action="revoked",
                what=TemporaryAccessPass._meta.label_lower,
                target=str(access_pass.public_id),
                account=access_pass.user,
                account_recorded=True,  # account:access_pass:revoke, with the operator as actor
            )
    return revoked


def _refuse(*, reason: str, user: Any, email: str, request: HttpRequest | None) -> AccessPassRefused:
    record_event(
        "account:access_pass:refused",
        user=user,
        request=request,
        subject_label=email[:254],
        result=Result.FAILURE,
        method=ACCESS_PASS,
        details={"reason": reason},
    )
    return AccessPassRefused(reason)


def redeem_access_pass(*, email: str, code: str, request: HttpRequest | None) -> TemporaryAccessPass:
    """The pass for ``email`` that ``code`` is, taken for one sign-in; ``AccessPassRefused`` otherwise.

    SECURITY: every way of failing (no such account, wrong or malformed pass, expired, used,
    revoked, another account's pass, a locked, closing or unverified account) raises the
    same exception after the same work (one keyed hash), and is recorded with its reason.
    A one-time pass is spent with a conditional UPDATE (``used_at IS NULL``), so when it
    arrives many times at once exactly one request gets in.
    """
    email = email.strip()
    user = user_by_email(email) if email else None
    normalized = codes.normalize_access_pass(code)
    candidate = codes.hash_access_pass(user_id=user.pk if user is not None else 0, normalized=normalized)
    # SECURITY: the passes are read for an unknown account too (0 is no account's key), so both
    # make the same queries and take the same time.
    rows = TemporaryAccessPass.objects.filter(user_id=user.pk if user is not None else 0).only(
        "pk", "pass_hash", "expires_at", "revoked_at", "used_at", "one_time"
    )
    match = None
    for row in rows:
        if constant_time_compare(row.pass_hash, candidate) and normalized:
            match = row
    if user is None:
        raise _refuse(reason="unknown_account", user=None, email=email, request=request)
    if match is None:
        raise _refuse(reason="wrong_pass", user=user, email=email, request=request)
    now = timezone.now()
    if match.revoked_at is not None:
        raise _refuse(reason="revoked", user=user, email=email, request=request)
    if match.expires_at <= now:
        raise _refuse(reason="expired", user=user, email=email, request=request)
    if match.spent:
        raise _refuse(reason="used", user=user, email=email, request=request)
    if not user.is_active or user.closed_at is not None or user.is_closing:
        raise _refuse(reason="closed", user=user, email=email, request=request)
    if user.is_locked:
        # SECURITY: the lock is the owner's emergency brake; a pass does not release it.
        raise _refuse(reason="locked", user=user, email=email, request=request)
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        # allauth would first ask to verify the address, and the sign-in would come back
        # without the pass's proof; sign-in methods need a verified address anyway.
        raise _refuse(reason="unverified", user=user, email=email, request=request)
    live = TemporaryAccessPass.objects.filter(pk=match.pk, revoked_at__isnull=True, expires_at__gt=now)
    if match.one_time:
        live = live.filter(used_at__isnull=True)
    if live.update(used_at=now, use_count=F("use_count") + 1) != 1:
        raise _refuse(reason="used", user=user, email=email, request=request)
    match.user = user
    match.used_at = now
    return match


def sign_in_with_access_pass(*, request: HttpRequest, email: str, code: str) -> HttpResponse:
    """Sign in with an email address and a Temporary Access Pass; answers allauth's response.

    The pass is the proof: no password and no second step. The session that results can
    only set up sign-in methods (``recovery.restrictions``), counts as a fresh sign-in
    for that, and ends when the pass expires.
    """
    email = email.strip()
    limits = settings.ACCESS_PASS_ATTEMPT_LIMITS
    ip = context_of(request).ip or "none"
    wait = throttle.take(
        [(f"access-pass:account:{hashing.digest(email.lower())}", n, s) for n, s in limits["account"]]
        + [(f"access-pass:address:{hashing.digest(ip)}", n, s) for n, s in limits["address"]]
    )
    if wait:
        record_event(
            "account:signin:throttled",
            user=user_by_email(email) if email else None,
            request=request,
            subject_label=email[:254],
            result=Result.BLOCKED,
            method=ACCESS_PASS,
            details={"retry_after": wait},
        )
        raise AccessPassThrottled(wait)
    access_pass = redeem_access_pass(email=email, code=code, request=request)
    user = access_pass.user
    # SECURITY: the mark that lets this one sign-in skip the second step lives on the request
    # only, never in the session, so nothing of it can outlast this request.
    with proving_sign_in(request, ACCESS_PASS):
        response = perform_login(request, user, redirect_url=reverse("recovery_set_up"))
    if request.user.is_authenticated and request.user.pk == user.pk:
        note_vouched_sign_in(
            request=request,
            by=ACCESS_PASS,
            access_pass=str(access_pass.public_id),
            access_pass_until=access_pass.expires_at.timestamp(),
        )
        # SECURITY: the session ends when the pass does, whatever "Keep me signed in" was.
        request.session.set_expiry(access_pass.expires_at)
    return response
