"""Reads for "Download your data": the latest export and what goes into one."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db.models import Max, Q
from django.utils import timezone

from threshold.accounts.models import PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.devices.models import Device
from threshold.recovery.models import (
    DataExport,
    ExportStatus,
)
from threshold.security.models import RecoveryCode, SecuritySettings, SignInMethod


def latest_export(user: Any) -> DataExport | None:
    """The person's newest export that is still being built or still downloadable."""
    now = timezone.now()
    return (
        DataExport.objects.filter(user=user)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(status=ExportStatus.FAILED)
        .defer("content")
        .first()
    )


def downloadable_export(user: Any, public_id: Any) -> DataExport | None:
    """The ready, unexpired export ``public_id`` of this account only; None otherwise (404)."""
    try:
        return DataExport.objects.filter(
            user=user, public_id=public_id, status=ExportStatus.READY, expires_at__gt=timezone.now()
        ).first()
    except ValidationError:
        return None


Row = dict[str, Any]


def export_sections(user: Any) -> list[tuple[str, list[Row]]]:
    """What "Download your data" contains, section by section, as rows of plain values.

    SECURITY: metadata only. No password hash, authenticator secret, passkey public key,
    recovery code (or its hash), device cookie hash or session key is ever read here.
    """
    account = User.objects.select_related("organization").get(pk=user.pk)
    profile = [
        {
            "account_id": account.public_id,
            "email": account.email,
            "display_name": account.display_name,
            "given_name": account.given_name,
            "family_name": account.family_name,
            "language": account.locale,
            "time_zone": account.time_zone,
            "account_kind": account.kind,
            "organization": account.organization.name if account.organization else "",
            "created_at": account.date_joined,
            "last_sign_in_at": account.last_login,
            "has_photo": User.objects.filter(pk=user.pk, photo__isnull=False).exists(),
        }
    ]
    contacts: list[Row] = [
        {"type": "email", "address": e.email, "verified": e.verified, "primary": e.primary, "added_at": None}
        for e in EmailAddress.objects.filter(user=user).order_by("-primary", "email")
    ]
    contacts += [
        {
            "type": "phone",
            "address": p.number,
            "verified": p.verified,
            "primary": p.primary,
            "added_at": p.created_at,
        }
        for p in PhoneNumber.objects.filter(user=user)
    ]
    settings_row = SecuritySettings.objects.filter(user=user).first()
    methods: list[Row] = [
        {
            "id": "",
            "kind": "password",
            "name": "",
            "in_use": account.has_usable_password(),
            "created_at": None,
            "last_changed_or_used_at": account.password_changed_at,
            "signs_in_without_password": False,
        },
        {
            "id": "",
            "kind": "two_step_verification",
            "name": "",
            "in_use": bool(settings_row and settings_row.two_step_enabled),
            "created_at": None,
            "last_changed_or_used_at": settings_row.two_step_changed_at if settings_row else None,
            "signs_in_without_password": False,
        },
        {
            "id": "",
            "kind": "recovery_codes",
            "name": "",
            "in_use": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "created_at": RecoveryCode.objects.filter(user=user).aggregate(at=Max("created_at"))["at"],
            "last_changed_or_used_at": RecoveryCode.objects.filter(user=user).aggregate(at=Max("used_at"))[
                "at"
            ],
            "signs_in_without_password": False,
        },
    ]
    methods += [
        {
            "id": m.public_id,
            "kind": m.kind,
            "name": m.name,
            "in_use": True,
            "created_at": m.created_at,
            "last_changed_or_used_at": m.last_used_at,
            "signs_in_without_password": m.passwordless,
        }
        for m in SignInMethod.objects.filter(user=user)
    ]
    devices = [
        {
            "id": d.public_id,
            "name": d.display_name,
            "browser": d.browser,
            "system": d.os,
            "kind": d.kind,
            "first_seen_at": d.first_seen_at,
            "last_seen_at": d.last_seen_at,
            "last_ip": d.last_ip,
            "last_country": d.last_country,
            "removed_at": d.removed_at,
        }
        for d in Device.objects.filter(user=user).order_by("first_seen_at", "id")
    ]
    activity = [
        {
            "occurred_at": e.occurred_at,
            "code": e.code,
            "what": e.label,
            "result": e.result,
            "ip": e.ip,
            "country": e.country,
            "device": e.device_label,
            "method": e.method,
            "details": e.details,
        }
        for e in SecurityEvent.objects.filter(user=user).order_by("occurred_at", "id").iterator()
    ]
    return [
        ("profile", profile),
        ("contact_addresses", contacts),
        ("sign_in_methods", methods),
        ("devices", devices),
        ("activity", activity),
    ]
