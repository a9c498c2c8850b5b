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


# --- Account recovery ------------------------------------------------------------------------


class RecoveryKind(models.TextChoices):
    WAITING_PERIOD = "waiting_period", _("Email address and phone number, after a waiting period")
    REVIEWED = "reviewed", _("Request reviewed by our support team")


class RecoveryStatus(models.TextChoices):
    # A waiting-period recovery waits for its ``ready_at``; a reviewed request waits for a decision.
    WAITING = "waiting", _("Waiting")
    READY = "ready", _("Ready to complete")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    DENIED = "denied", _("Denied")
    EXPIRED = "expired", _("Expired")


OPEN_STATUSES = (RecoveryStatus.WAITING, RecoveryStatus.READY)


class CancelledBy(models.TextChoices):
    LINK = "link", _("With the link sent to the account's addresses")
    SIGN_IN = "sign_in", _("By a sign-in to the account")
    SUPERSEDED = "superseded", _("Another recovery of the account was completed")


class Decision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    DENIED = "denied", _("Denied")


class AccountRecovery(models.Model):
    """One attempt to get back into an account without its sign-in methods.

    ``waiting_period``: the person proved a verified email address and a verified phone
    number of the account; it can be completed from ``ready_at`` until ``expires_at``,
    unless the owner cancels it (the link every address was sent, or simply by signing
    in). ``reviewed``: the person had nothing left and asked our support team, who compare
    what they remember with the account and decide; an approval sends a completion link
    to the contact address. ``user`` is None for a request naming no account, kept so that
    the operator sees "no such account".

    Tokens (the cancel links, the completion link) are stored only as SHA-256 hashes.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="account_recoveries",
    )
    kind = models.CharField(max_length=16, choices=RecoveryKind.choices)
    status = models.CharField(max_length=16, choices=RecoveryStatus.choices, default=RecoveryStatus.WAITING)
    account_email = models.EmailField(_("account's email address"), max_length=254)
    # waiting_period: the addresses the person proved (the "ready" mail goes to the email).
    proven_email = models.EmailField(max_length=254, blank=True)
    proven_phone = models.CharField(max_length=20, blank=True)
    # reviewed: where to reach the person, proved by a code, and what they remember.
    contact_email = models.EmailField(_("contact address"), max_length=254, blank=True)
    claims = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    request_ip = models.GenericIPAddressField(null=True, blank=True)
    request_country = models.CharField(max_length=2, blank=True)
    # The language the person used, for the mail to their contact address.
    language = models.CharField(max_length=10, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    ready_notice_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=16, choices=CancelledBy.choices, blank=True)
    cancel_token_hash = models.CharField(max_length=64, blank=True)
    # reviewed: the cancel link every address was sent when the request was filed. It keeps
    # working after an approval sends a new one (``cancel_token_hash``), so an owner who reads
    # the first message late can still stop it.
    filed_cancel_token_hash = models.CharField(max_length=64, blank=True)
    completion_token_hash = models.CharField(max_length=64, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recoveries_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("account recovery")
        verbose_name_plural = _("account recoveries")
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["status", "kind", "requested_at"], name="recovery_queue"),
            models.Index(fields=["status", "ready_at"], name="recovery_due"),
        ]
        constraints = [
            # SECURITY: one waiting-period recovery at a time per account, so the owner has
            # one thing to cancel and an attacker cannot queue a second behind it.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(kind="waiting_period", status__in=["waiting", "ready"]),
                name="one_open_waiting_recovery",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
