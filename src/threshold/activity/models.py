from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from threshold.activity import catalog
from threshold.core.context import describe_user_agent


class Result(models.TextChoices):
    SUCCESS = "success", _("Succeeded")
    FAILURE = "failure", _("Failed")
    BLOCKED = "blocked", _("Blocked")


class SecurityEvent(models.Model):
    """One append-only row per sign-in or security change.

    Actor and subject are snapshotted (public id and label), so the log still reads right
    after an account is closed and its user row is gone.
    """

    occurred_at = models.DateTimeField(db_index=False)
    code = models.CharField(max_length=64)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.SUCCESS)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    subject_public_id = models.UUIDField(null=True, blank=True)
    subject_label = models.CharField(max_length=254, blank=True)
    actor_public_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device_label = models.CharField(max_length=128, blank=True)
    method = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)

    # The columns one row of the activity page shows. The page is read from the index alone
    # (no table lookups, no sort step), so it costs the same at ten thousand rows or ten
    # million (README, "Benchmarks").
    PAGE_COLUMNS = ("id", "occurred_at", "code", "result", "country", "method", "ip", "user_agent")

    class Meta:
        indexes = [
            # Keys, not INCLUDE columns: SQLite has no INCLUDE, and as keys the index covers
            # the page on both databases. ``details`` stays out: it has no size bound.
            # SECURITY/availability: the user agent is cut to 512 characters when parsed
            # (core.context), so no client header can push an entry past PostgreSQL's 2.7 kB
            # B-tree limit and make the write of a sign-in fail.
            models.Index(
                fields=[
                    "user",
                    "-occurred_at",
                    "-id",
                    "code",
                    "result",
                    "country",
                    "method",
                    "ip",
                    "user_agent",
                ],
                name="event_user_page",
            ),
            models.Index(fields=["code", "-occurred_at"], name="event_code_time"),
            models.Index(fields=["occurred_at"], name="event_time"),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} {self.subject_label} {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Security events are append-only.")
        super().save(*args, **kwargs)

    @property
    def event_type(self) -> catalog.EventType:
        return catalog.get(self.code)

    @property
    def label(self) -> str:
        return str(self.event_type.label)

    @property
    def country_label(self) -> str:
        """The country's name in the active language ("" when unknown)."""
        return catalog.country_label(self.country)

    @property
    def device(self) -> str:
        """The device in the active language ("Chrome en Windows"); ``device_label`` keeps
        the words of the request that recorded the event."""
        return describe_user_agent(self.user_agent).label if self.user_agent else self.device_label


class SignInAssessment(models.Model):
    """Why a successful sign-in looked unusual (activity/risk.py), written with its event.

    Only sign-ins with at least one reason have a row. Like events, rows are never changed.
    """

    event = models.OneToOneField(
        SecurityEvent, on_delete=models.CASCADE, primary_key=True, related_name="assessment"
    )
    score = models.PositiveSmallIntegerField()
    unfamiliar = models.BooleanField()
    reasons = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"assessment of event {self.event_id}: {self.score}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("Sign-in assessments are append-only.")
        super().save(*args, **kwargs)


class Verdict(models.TextChoices):
    ME = "me", _("This was me")
    NOT_ME = "not_me", _("This wasn't me")


class EventReport(models.Model):
    """The account holder's answer about one of their sign-ins: it was them, or it was not.

    The event itself stays untouched (append-only); the answer lives beside it.
    """

    event = models.OneToOneField(
        SecurityEvent, on_delete=models.CASCADE, primary_key=True, related_name="report"
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    answered_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.verdict} for event {self.event_id}"

    @property
    def not_me(self) -> bool:
        return self.verdict == Verdict.NOT_ME
