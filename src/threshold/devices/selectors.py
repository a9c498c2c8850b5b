"""Reads for the Devices page, and the trust a browser holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from threshold.activity.catalog import country_label, device_kind_label
from threshold.core.context import context_of
from threshold.devices import trust
from threshold.devices.models import Device, DeviceTrust, TrustedDevice

# The session key naming the device this session signed in on (set by services).
SESSION_DEVICE = "threshold.device"


@dataclass
class DeviceRow:
    device: Device
    this_device: bool
    stale: bool
    trusted: bool
    sessions: list[UserSession] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return device_kind_label(self.device.kind)

    @property
    def country(self) -> str:
        return country_label(self.device.last_country)


@dataclass
class DevicesPage:
    devices: list[DeviceRow]
    stale: list[DeviceRow]
    other_sessions: list[UserSession]
    stale_days: int


def stale_days() -> int:
    return int(settings.STALE_DEVICE_DAYS)


def session_key_of(request: HttpRequest | None) -> str | None:
    """This request's session key (to keep when ending the account's other sessions)."""
    session = getattr(request, "session", None)
    return session.session_key if session is not None else None


def current_device_pk(request: HttpRequest) -> int | None:
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


# --- Trusted devices ("don't ask again on this device") ------------------------------------


def active_trusted_devices(user: Any) -> QuerySet[TrustedDevice]:
    return TrustedDevice.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def trusted_device_for(request: HttpRequest, user: Any) -> TrustedDevice | None:
    """The trust this browser holds for ``user``, if it is still good.

    SECURITY: the cookie is signed, its token is checked against the stored hash, and the
    row must be neither revoked nor expired; the browser and system must also still match
    the ones trust was given on, so a copied cookie is worth less elsewhere.
    """
    entries = trust.read_entries(request)
    if not entries:
        return None
    ids = [device_id for device_id, _token in entries]
    devices = {str(d.public_id): d for d in active_trusted_devices(user).filter(public_id__in=uuids(ids))}
    summary = context_of(request).device
    for device_id, token in entries:
        device = devices.get(device_id)
        if device is None:
            continue
        if not constant_time_compare(trust.token_hash(token), device.token_hash):
            continue
        if (device.browser, device.os) != (summary.browser, summary.os):
            continue
        return device
    return None


def uuids(values: list[str]) -> list[str]:
    found = []
    for value in values:
        try:
            found.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return found
