"""Reads for the Devices page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from threshold.devices.models import Device, DeviceTrust


@dataclass
class DeviceRow:
    device: Device
    this_device: bool
    stale: bool
    trusted: bool
    sessions: list[UserSession] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        from threshold.activity.catalog import device_kind_label

        return device_kind_label(self.device.kind)

    @property
    def country(self) -> str:
        from threshold.activity.catalog import country_label

        return country_label(self.device.last_country)


@dataclass
class DevicesPage:
    devices: list[DeviceRow]
    stale: list[DeviceRow]
    other_sessions: list[UserSession]
    stale_days: int


def stale_days() -> int:
    return int(settings.STALE_DEVICE_DAYS)


def current_device_pk(request: HttpRequest) -> int | None:
    from threshold.devices.services import SESSION_DEVICE

    session = getattr(request, "session", None)
    value = session.get(SESSION_DEVICE) if session is not None else None
    return int(value) if isinstance(value, int) else None


def active_devices(user: Any) -> list[Device]:
    return list(Device.objects.filter(user=user, removed_at__isnull=True).order_by("-last_seen_at", "-id"))


def device_by_public_id(user: Any, public_id: Any) -> Device | None:
    return Device.objects.filter(user=user, public_id=public_id, removed_at__isnull=True).first()


def devices_page(user: Any, request: HttpRequest) -> DevicesPage:
    """Every device in use, this one first; the ones unused for long, apart, to suggest removing."""
    now = timezone.now()
    current = current_device_pk(request)
    cutoff = now - timedelta(days=stale_days())
    devices = active_devices(user)
    trusted_ids = set(
        DeviceTrust.objects.filter(
            device__in=devices,
            trusted_device__revoked_at__isnull=True,
            trusted_device__expires_at__gt=now,
        ).values_list("device_id", flat=True)
    )
    rows = {
        d.pk: DeviceRow(
            device=d, this_device=d.pk == current, stale=d.last_seen_at < cutoff, trusted=d.pk in trusted_ids
        )
        for d in devices
    }
    others = []
    for session in UserSession.objects.filter(user=user).order_by("-last_seen_at"):
        device_pk = (session.data or {}).get("device")
        if device_pk in rows:
            rows[device_pk].sessions.append(session)
        else:
            others.append(session)
    ordered = sorted(rows.values(), key=lambda r: (not r.this_device, -r.device.last_seen_at.timestamp()))
    return DevicesPage(
        devices=[r for r in ordered if not r.stale],
        stale=[r for r in ordered if r.stale],
        other_sessions=others,
        stale_days=stale_days(),
    )
