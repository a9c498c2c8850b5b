"""Reads about trusted devices."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from threshold.core.context import context_of
from threshold.security import trust
from threshold.security.models import TrustedDevice


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
