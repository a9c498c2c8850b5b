"""Reads for after a recovery sign-in: the access pass session and the set-up of a new method and new codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
from threshold.verification.sign_in import ACCESS_PASS

# "Not now" on the Overview's banner, for the rest of the session.
SET_UP_DISMISSED_SESSION_KEY = "threshold.recovery.set_up_dismissed"

# A recovery sign-in older than this no longer asks for the set-up on the Overview.
SET_UP_DAYS = 30

RECOVERY_CODE = "recovery_code"


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
