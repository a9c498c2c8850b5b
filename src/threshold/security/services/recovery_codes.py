"""Recovery codes: a new set, and spending one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from threshold.activity.services import record_event
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import codes
from threshold.security.models import RecoveryCode
from threshold.security.selectors.methods import recovery_codes_left
from threshold.security.services.guard_rails import settings_for_update
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


def replace_recovery_codes(user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    plain = [codes.new_recovery_code() for _ in range(codes.RECOVERY_CODE_COUNT)]
    rows = []
    for code in plain:
        salt = codes.new_salt()
        rows.append(
            RecoveryCode(
                user=user,
                salt=salt,
                code_hash=codes.hash_recovery_code(codes.normalize_recovery_code(code), salt),
            )
        )
    RecoveryCode.objects.bulk_create(rows)
    return plain


def generate_recovery_codes(*, user: Any, request: HttpRequest | None) -> list[str]:
    """A new set of ten codes, returned once in plain text; the old set stops working."""
    policies.require(user, Action.RECOVERY_CODES_GENERATE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        settings_for_update(user)
        plain = replace_recovery_codes(user)
        record_event(
            "account:recovery_codes:generate", user=user, request=request, details={"count": len(plain)}
        )
    return plain


def use_recovery_code(
    *,
    user: Any,
    request: HttpRequest | None,
    code: str,
    created_before: datetime | None = None,
    quiet: bool = False,
) -> RecoveryCode | None:
    """Spend one recovery code; the spent code only for the one caller that spent it.

    ``created_before`` accepts only a code made before then (confirming a waiting removal
    takes an older code); ``quiet`` leaves the alert to the change the code confirmed.
    SECURITY: the code is spent with a conditional UPDATE (``used_at IS NULL``), so when
    the same code arrives many times at once exactly one request gets in.
    """
    normalized = codes.normalize_recovery_code(code)
    if not normalized:
        return None
    rows = RecoveryCode.objects.filter(user=user, used_at__isnull=True)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    match = None
    for row in rows.only("pk", "salt", "code_hash", "created_at"):
        if codes.recovery_code_matches(normalized, row.salt, row.code_hash):
            match = row
    if match is None:
        return None
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=timezone.now())
        if spent != 1:
            return None
        left = recovery_codes_left(user)
        record_event(
            "account:recovery_codes:use",
            user=user,
            request=request,
            method="recovery_code",
            details={"left": left},
            quiet=quiet,
        )
    return match
