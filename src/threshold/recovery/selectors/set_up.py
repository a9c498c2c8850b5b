"""Reads for after a recovery sign-in: the access pass session and the set-up of a new method and new codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from threshold.activity.models import Result, SecurityEvent
from threshold.recovery.models import (
    TemporaryAccessPass,
)
from threshold.security.models import RecoveryCode, SignInMethod

# How a session proved who it is when it skipped the usual sign-in: another helper's
# cooling-off rule reads exactly this key. Set only after the sign-in has completed.
RESET_BY_SESSION_KEY = "threshold.security_reset_by"
ACCESS_PASS = "access_pass"
ACCOUNT_RECOVERY = "account_recovery"  # a completed account recovery (waiting period or reviewed)
# The pass that signed this session in, and when it expires (a POSIX timestamp).
ACCESS_PASS_SESSION_KEY = "threshold.recovery.access_pass"
ACCESS_PASS_UNTIL_SESSION_KEY = "threshold.recovery.access_pass_until"
# "Not now" on the Overview's banner, for the rest of the session.
SET_UP_DISMISSED_SESSION_KEY = "threshold.recovery.set_up_dismissed"

# A recovery sign-in older than this no longer asks for the set-up on the Overview.
SET_UP_DAYS = 30

RECOVERY_CODE = "recovery_code"


def access_pass_session_until(request: HttpRequest | None) -> datetime | None:
    """When this session's Temporary Access Pass expires; None for any other session."""
    session = getattr(request, "session", None)
    if session is None or session.get(RESET_BY_SESSION_KEY) != ACCESS_PASS:
        return None
    try:
        until = float(session.get(ACCESS_PASS_UNTIL_SESSION_KEY, 0))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(until, tz=UTC) if until > 0 else None


def access_pass_session_live(request: HttpRequest | None) -> bool:
    until = access_pass_session_until(request)
    return until is not None and until > timezone.now()


def access_pass_still_valid(public_id: Any) -> bool:
    """The pass that signed a session in is neither revoked nor expired (a used one-time pass still is)."""
    try:
        return TemporaryAccessPass.objects.filter(
            public_id=public_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).exists()
    except ValidationError:
        return False


@dataclass(frozen=True)
class SetUpProgress:
    """After a sign-in with a recovery code or a Temporary Access Pass: what is done, what is left."""

    via: str  # RECOVERY_CODE or ACCESS_PASS
    since: datetime
    codes_left: int
    method_added: bool
    codes_made: bool

    @property
    def done(self) -> bool:
        return self.method_added and self.codes_made


def set_up_progress(user: Any) -> SetUpProgress | None:
    """Progress since the account's latest recovery sign-in of the last ``SET_UP_DAYS``, from real state.

    A method counts when it was added after that sign-in, the codes when a new set was
    made after it; None when there was no such sign-in.
    """
    latest = (
        SecurityEvent.objects.filter(
            user=user, occurred_at__gte=timezone.now() - timedelta(days=SET_UP_DAYS), result=Result.SUCCESS
        )
        .filter(Q(code="account:recovery_codes:use") | Q(code="account:signin:success", method=ACCESS_PASS))
        .order_by("-occurred_at", "-id")
        .values_list("code", "occurred_at")
        .first()
    )
    if latest is None:
        return None
    code, since = latest
    return SetUpProgress(
        via=RECOVERY_CODE if code == "account:recovery_codes:use" else ACCESS_PASS,
        since=since,
        codes_left=RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
        method_added=SignInMethod.objects.filter(user=user, created_at__gte=since).exists(),
        codes_made=RecoveryCode.objects.filter(user=user, created_at__gte=since).exists(),
    )


def set_up_banner(request: HttpRequest) -> SetUpProgress | None:
    """The Overview's reminder: an unfinished set-up the person has not put off for this session."""
    if request.session.get(SET_UP_DISMISSED_SESSION_KEY):
        return None
    progress = set_up_progress(request.user)
    return progress if progress is not None and not progress.done else None
