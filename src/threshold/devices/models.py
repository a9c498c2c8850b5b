"""The browsers (and later apps) an account is signed in from.

A browser is recognised by a long-lived device cookie holding a random id; only the id's
hash is stored. One browser used by two accounts is one row per account.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from threshold.core.context import DeviceSummary


class Device(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    cookie_hash = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=80, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, default="unknown")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    last_country = models.CharField(max_length=2, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "cookie_hash"],
                condition=models.Q(removed_at__isnull=True),
                name="one_device_per_browser_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["cookie_hash"], name="device_cookie"),
            models.Index(fields=["user", "removed_at", "last_seen_at"], name="device_user"),
        ]
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"device {self.public_id}"

    @property
    def default_name(self) -> str:
        """ "Chrome on Windows", in the active language."""
        return DeviceSummary(self.browser, self.os, self.kind).label

    @property
    def display_name(self) -> str:
        return self.name or self.default_name


class DeviceTrust(models.Model):
    """Which device a "don't ask again on this device" trust (threshold.security) was given on."""

    trusted_device = models.OneToOneField(
        "security.TrustedDevice", on_delete=models.CASCADE, primary_key=True, related_name="device_link"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="trust_links")

    def __str__(self) -> str:
        return f"trust {self.trusted_device_id} on {self.device_id}"
