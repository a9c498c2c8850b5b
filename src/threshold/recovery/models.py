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
