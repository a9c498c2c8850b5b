"""Sign-in methods, the two-step verification switch and recovery codes.

Trusted devices ("don't ask again on this device") are threshold.devices'.

allauth.mfa keeps the secrets of authenticator apps and passkeys (its ``Authenticator``);
``SignInMethod`` is our record of every method the person has, whatever holds its secret,
with the name they gave it, so that the page, the guard rails and the sign-in challenge
read one table.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MethodKind(models.TextChoices):
    PASSKEY = "passkey", _("Passkey or security key")
    AUTHENTICATOR_APP = "authenticator_app", _("Authenticator app")
    TEXT_MESSAGE = "text_message", _("Text message")


def method_kind_label(kind: Any) -> Any:
    """A method's kind as alerts name it ("Authenticator app"); any other value unchanged."""
    return str(MethodKind(kind).label) if kind in MethodKind.values else kind


# Strongest first: the order methods are listed and offered at sign-in when the person
# has not chosen a default.
KIND_STRENGTH = [MethodKind.PASSKEY, MethodKind.AUTHENTICATOR_APP, MethodKind.TEXT_MESSAGE]


class SignInMethod(models.Model):
    """A second way to prove who you are: an authenticator app, a passkey or a phone."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_methods"
    )
    kind = models.CharField(max_length=24, choices=MethodKind.choices)
    name = models.CharField(_("name"), max_length=80)
    authenticator = models.OneToOneField(
        "mfa.Authenticator", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    phone = models.OneToOneField(
        "accounts.PhoneNumber", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Passkeys only. ``passwordless``: a discoverable credential that checks who is holding
    # it (PIN or biometrics), so it can sign in on its own; a security key that only
    # proves presence is a second step. ``sign_count``: the authenticator's signature
    # counter as last seen, which must move forward (zero for authenticators without one).
    passwordless = models.BooleanField(default=False)
    sign_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(authenticator__isnull=False, phone__isnull=True)
                    | models.Q(authenticator__isnull=True, phone__isnull=False)
                ),
                name="sign_in_method_has_one_holder",
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def phishing_resistant(self) -> bool:
        """Only passkeys and security keys are bound to this site's address."""
        return self.kind == MethodKind.PASSKEY

    @property
    def is_passkey(self) -> bool:
        return self.kind == MethodKind.PASSKEY

    @property
    def kind_label(self) -> str:
        """What the person calls it: a passkey signs in on its own, a security key is a second step."""
        if self.kind == MethodKind.PASSKEY:
            return str(_("Passkey")) if self.passwordless else str(_("Security key"))
        return str(self.get_kind_display())

    @property
    def strength(self) -> int:
        return KIND_STRENGTH.index(MethodKind(self.kind))


class SecuritySettings(models.Model):
    """The person's two-step verification switch and default sign-in method."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="security_settings"
    )
    two_step_enabled = models.BooleanField(default=False)
    two_step_changed_at = models.DateTimeField(null=True, blank=True)
    default_method = models.ForeignKey(
        SignInMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"security settings of {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use recovery code, stored only as a salted hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "used_at"], name="recovery_code_user")]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class RemovalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    APPLIED = "applied", _("Removed after the wait")
    CONFIRMED = "confirmed", _("Removed at once, confirmed with an older method")
    CANCELLED = "cancelled", _("Cancelled")


class ScheduledRemoval(models.Model):
    """The removal of an older sign-in method that waits, because it would replace them all.

    When removing a method would leave the account with none of the methods it had before
    ``SECURITY_INFO_WINDOW_DAYS``, the removal waits ``SECURITY_INFO_WAIT_DAYS`` (Microsoft's
    rule for replacing all security info). Until then the method keeps working, the account's
    older addresses are told with a link to cancel, and proving one of the older methods
    removes it at once. ``method`` becomes null if the method goes some other way; ``name``
    and ``kind`` keep what it was for the page and the record.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scheduled_removals"
    )
    method = models.ForeignKey(
        SignInMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="scheduled_removals"
    )
    kind = models.CharField(max_length=24, choices=MethodKind.choices)
    name = models.CharField(max_length=80)
    requested_at = models.DateTimeField(default=timezone.now)
    effective_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=RemovalStatus.choices, default=RemovalStatus.PENDING)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # How it ended: "waited", the kind of method that confirmed it, "link" or "security_info"
    # for a cancel, "method_gone" or a guard rail's reason code when it could not be applied.
    resolved_by = models.CharField(max_length=32, blank=True)
    # SHA-256 of the cancel link's token, mailed and texted to the older addresses.
    cancel_token_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["method"],
                condition=models.Q(status="pending"),
                name="one_pending_removal_per_method",
            ),
        ]
        indexes = [models.Index(fields=["status", "effective_at"], name="removal_due")]
        ordering = ["effective_at", "id"]

    def __str__(self) -> str:
        return f"scheduled removal {self.public_id}"

    @property
    def pending(self) -> bool:
        return self.status == RemovalStatus.PENDING
