"""Turning two-step verification on and off."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.devices.models import TrustReason
from threshold.devices.services import revoke_trust
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security.selectors.methods import recovery_codes_left, second_step_methods
from threshold.security.services.guard_rails import settings_for_update
from threshold.security.services.recovery_codes import replace_recovery_codes
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


def enable_two_step(*, user: Any, request: HttpRequest | None) -> list[str]:
    """Turn on two-step verification; returns a new set of recovery codes if there was none."""
    policies.require(user, Action.TWO_STEP_ENABLE, request=request)
    if not second_step_methods(user).exists():
        raise Refused(
            _("Add a sign-in method first, such as an authenticator app: two-step verification needs one."),
            code="no_method",
        )
    new_codes: list[str] = []
    with transaction.atomic():
        settings_row = settings_for_update(user)
        if settings_row.two_step_enabled:
            return []
        settings_row.two_step_enabled = True
        settings_row.two_step_changed_at = timezone.now()
        settings_row.save(update_fields=["two_step_enabled", "two_step_changed_at"])
        # SECURITY: trust given before 2SV was last turned off must not carry over.
        revoke_trust(user=user, request=request, reason=TrustReason.TWO_STEP_CHANGED)
        if recovery_codes_left(user) == 0:
            new_codes = replace_recovery_codes(user)
            record_event(
                "account:recovery_codes:generate",
                user=user,
                request=request,
                details={"count": len(new_codes), "reason": "two_step_enabled"},
                quiet=True,  # the 2SV alert below says the codes were made
            )
        record_event(
            "account:2sv:enable", user=user, request=request, details={"recovery_codes_made": len(new_codes)}
        )
    return new_codes


def disable_two_step(*, user: Any, request: HttpRequest | None) -> None:
    """Turn off two-step verification (an organisation may forbid it).

    SECURITY: not a replacement of the older methods, so it never waits: it removes no way
    in (every method and recovery code stays, and the owner's password still signs in), the
    owner can turn it back on, and it is announced at once. Removing the older methods
    afterwards is what would lock the owner out, and that waits whatever the switch says.
    """
    policies.require(user, Action.TWO_STEP_DISABLE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        settings_row = settings_for_update(user)
        if not settings_row.two_step_enabled:
            return
        settings_row.two_step_enabled = False
        settings_row.two_step_changed_at = timezone.now()
        settings_row.save(update_fields=["two_step_enabled", "two_step_changed_at"])
        revoke_trust(user=user, request=request, reason=TrustReason.TWO_STEP_CHANGED)
        record_event("account:2sv:disable", user=user, request=request)
