"""The browsers (and later apps) an account is signed in from, and the ones it trusts.

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


class TrustReason(models.TextChoices):
    PASSWORD_CHANGED = "password_changed", _("Your password was changed")
    TWO_STEP_CHANGED = "two_step_changed", _("Two-step verification was turned on or off")
    BY_PERSON = "by_person", _("You asked to forget it")


class TrustedDevice(models.Model):
    """A browser where the person chose "Don't ask again on this device".

    The browser holds a signed cookie naming this row and a random token; only the token's
    hash is stored. Each row can be revoked on its own; ``DeviceTrust`` ties it to the device.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_devices"
    )
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=24, choices=TrustReason.choices, blank=True)
    device_label = models.CharField(max_length=128, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    session_key = models.CharField(max_length=40, blank=True)

    class Meta:
        # The table it had in threshold.security, kept when the model moved here.
        db_table = "security_trusteddevice"
        indexes = [models.Index(fields=["user", "revoked_at"], name="trusted_device_user")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"trusted device {self.public_id}"


class DeviceTrust(models.Model):
    """Which device a "don't ask again on this device" trust was given on."""

    trusted_device = models.OneToOneField(
        TrustedDevice, on_delete=models.CASCADE, primary_key=True, related_name="device_link"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="trust_links")

    def __str__(self) -> str:
        return f"trust {self.trusted_device_id} on {self.device_id}"
