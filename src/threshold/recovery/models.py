"""Closing an account and exporting its data.

The closure window itself lives on the account row (``User.closure_requested_at``,
``closes_at``, ``closed_at``), so every request can see it without another query.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# How long a closing account can still be reopened; the person chooses.
CLOSURE_DAYS = (30, 60)


class ClosureReason(models.TextChoices):
    """Why the person is leaving: a choice, not free text, because it is kept in the
    security event after the personal data is deleted."""

    NOT_NEEDED = "not_needed", _("I don't need it any more")
    OTHER_ACCOUNT = "other_account", _("I have another account")
    PRIVACY = "privacy", _("I'm worried about my privacy")
    TOO_MANY_EMAILS = "too_many_emails", _("I get too many emails")
    OTHER = "other", _("Something else")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    BUILDING = "building", _("Being prepared")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Could not be prepared")


class DataExport(models.Model):
    """One "Download your data" request, and the ZIP once it is built.

    The ZIP is kept in the database, like the profile photo: it is small (a person's own
    records), it is deleted with the account in the same transaction, and no file can be
    left behind by a task killed halfway.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["user", "-requested_at"], name="export_user")]
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"data export {self.public_id}"

    @property
    def in_progress(self) -> bool:
        return self.status in (ExportStatus.PENDING, ExportStatus.BUILDING)


class TemporaryAccessPass(models.Model):
    """A pass that lets its holder sign in, for a short time, to set up new sign-in methods.

    Microsoft Entra's Temporary Access Pass: issued by an operator (later by an
    organisation's admin) to someone who lost every way in. The pass itself is never
    stored, only its keyed hash (``recovery.codes``); it is shown once, to the issuer.
    ``used_at`` is when it last signed someone in; a one-time pass is spent by that first use.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_passes")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pass_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    one_time = models.BooleanField(default=True)
    used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="access_pass_user")]
        ordering = ["-created_at", "-id"]
        verbose_name = _("Temporary Access Pass")
        verbose_name_plural = _("Temporary Access Passes")

    def __str__(self) -> str:
        return f"access pass {self.public_id}"

    @property
    def spent(self) -> bool:
        return self.one_time and self.used_at is not None

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and not self.spent and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return str(_("Revoked"))
        if self.spent:
            return str(_("Used"))
        if self.expires_at <= timezone.now():
            return str(_("Expired"))
        return str(_("Active"))
