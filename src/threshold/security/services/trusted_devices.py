"""Trusted devices: remembering a browser, and forgetting it."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import trust
from threshold.security.models import TrustedDevice, TrustReason


def trust_this_device(*, request: HttpRequest, user: Any) -> tuple[TrustedDevice, str]:
    """Remember this browser for 30 days; returns the row and the token for its cookie."""
    policies.require(user, Action.DEVICE_TRUST, request=request)
    ctx = context_of(request)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        device = TrustedDevice.objects.create(
            user=user,
            token_hash=trust.token_hash(token),
            expires_at=timezone.now() + timedelta(days=trust.TRUST_DAYS),
            device_label=ctx.device.label if ctx.user_agent else "",
            browser=ctx.device.browser[:64],
            os=ctx.device.os[:64],
            ip=ctx.ip or None,
            country=ctx.country,
            session_key=(request.session.session_key or "") if hasattr(request, "session") else "",
        )
        record_event(
            "account:device:trust",
            user=user,
            request=request,
            details={"device": str(device.public_id), "days": trust.TRUST_DAYS},
        )
    return device, token


def revoke_trust(*, user: Any, request: HttpRequest | None, reason: TrustReason) -> int:
    revoked = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if revoked:
        record_event(
            "account:device:trust_revoke",
            user=user,
            request=request,
            details={"count": revoked, "reason": str(reason)},
        )
    return revoked


def forget_trusted_devices(*, user: Any, request: HttpRequest | None) -> int:
    """Every device asks for the second step again."""
    with transaction.atomic():
        return revoke_trust(user=user, request=request, reason=TrustReason.BY_PERSON)


def revoke_trusted_device(*, user: Any, request: HttpRequest | None, device: TrustedDevice) -> bool:
    """One device asks for the second step again (for the Devices page)."""
    if device.user_id != user.pk:
        return False
    with transaction.atomic():
        revoked = TrustedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=TrustReason.BY_PERSON
        )
        if revoked:
            record_event(
                "account:device:trust_revoke",
                user=user,
                request=request,
                details={"count": 1, "reason": str(TrustReason.BY_PERSON), "device": str(device.public_id)},
            )
    return bool(revoked)
