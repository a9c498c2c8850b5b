"""The only writer of security events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from threshold.activity import alerts, catalog, risk, selectors
from threshold.activity.models import EventReport, Result, SecurityEvent, SignInAssessment, Verdict
from threshold.core.context import RequestContext, context_of


def record_event(
    code: str,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    context: RequestContext | None = None,
    actor: Any = None,
    subject_label: str = "",
    result: Result = Result.SUCCESS,
    method: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> SecurityEvent:
    """Append one event of a catalogued type.

    ``user`` is the account the event is about (None for an unknown email). ``actor`` is who
    did it, when not the account holder (an admin, the system). The request's context is
    parsed once and snapshotted with the row.
    """
    event_type = catalog.get(code)
    ctx = context or context_of(request)
    subject = user if user is not None and getattr(user, "pk", None) else None
    actor = actor if actor is not None else subject
    return SecurityEvent.objects.create(
        occurred_at=occurred_at or timezone.now(),
        code=event_type.code,
        result=result,
        user=subject,
        subject_public_id=getattr(subject, "public_id", None),
        subject_label=subject_label or (getattr(subject, "email", "") if subject else ""),
        actor_public_id=getattr(actor, "public_id", None) if actor is not None else None,
        actor_label=(getattr(actor, "email", "") or str(actor)) if actor is not None else "",
        ip=ctx.ip or None,
        country=ctx.country,
        user_agent=ctx.user_agent,
        device_label=ctx.device.label if ctx.user_agent else "",
        method=method,
        details=details or {},
    )


# --- Sign-ins ------------------------------------------------------------------------------


def record_sign_in(*, user: Any, request: HttpRequest | None, method: str) -> SecurityEvent:
    """Record a successful sign-in, scored against the account's history (activity/risk.py).

    The assessment is made before the event is written, so the sign-in is never compared
    with itself. An unfamiliar one emails the person once the transaction has committed.
    """
    ctx = context_of(request)
    now = timezone.now()
    assessment = risk.assess_sign_in(user=user, context=ctx, occurred_at=now)
    with transaction.atomic():
        event = record_event("account:signin:success", user=user, context=ctx, method=method, occurred_at=now)
        if assessment.reasons:
            SignInAssessment.objects.create(
                event=event,
                score=assessment.score,
                unfamiliar=assessment.unfamiliar,
                reasons=assessment.reasons_json(),
            )
        if assessment.unfamiliar:
            transaction.on_commit(partial(alerts.send_unfamiliar_sign_in, event_id=event.pk))
    return event


class NotYourSignIn(Exception):
    """The event is not one of this account's sign-ins (or does not exist): answer 404."""


def answer_sign_in(*, user: Any, event_id: int, verdict: Verdict, request: HttpRequest | None) -> EventReport:
    """Record the person's answer about one of their sign-ins: "This was me" or "This wasn't me".

    SECURITY: "This wasn't me" cannot be taken back from a signed-in session, since whoever
    signed in unseen could otherwise clear the report; "This was me" can still become
    "This wasn't me". Each answer given is itself a recorded event.
    """
    event = selectors.sign_in_event(user, event_id)
    if event is None:
        raise NotYourSignIn(event_id)
    with transaction.atomic():
        report, created = EventReport.objects.select_for_update().get_or_create(
            event=event, defaults={"verdict": verdict}
        )
        if not created:
            if report.verdict == verdict or report.verdict == Verdict.NOT_ME:
                return report
            report.verdict = verdict
            report.answered_at = timezone.now()
            report.save(update_fields=["verdict", "answered_at"])
        record_event(
            "account:signin:reported" if verdict == Verdict.NOT_ME else "account:signin:confirmed",
            user=user,
            request=request,
            details={
                "sign_in_at": event.occurred_at.isoformat(),
                "sign_in_device": event.device_label,
                "sign_in_country": event.country,
                "sign_in_ip": event.ip or "",
            },
        )
    return report


# --- Retention -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    sign_in: int
    change: int

    @property
    def total(self) -> int:
        return self.sign_in + self.change


def prune_events(*, now: datetime | None = None, batch_size: int = 1000) -> Pruned:
    """Delete events past their retention period, a batch at a time.

    Sign-in events are kept ``ACTIVITY_RETENTION_DAYS``; everything else (security changes,
    and any type no longer in the catalogue) ``CHANGE_RETENTION_DAYS``. Short batches keep
    each transaction, and the lock it holds, small while sign-ins go on.
    """
    now = now or timezone.now()
    sign_in_codes = catalog.codes(retention=catalog.Retention.SIGN_IN)
    sign_in_cutoff = now - timedelta(days=settings.ACTIVITY_RETENTION_DAYS)
    change_cutoff = now - timedelta(days=settings.CHANGE_RETENTION_DAYS)
    sign_ins = _delete_in_batches(
        SecurityEvent.objects.filter(code__in=sign_in_codes, occurred_at__lt=sign_in_cutoff), batch_size
    )
    changes = _delete_in_batches(
        SecurityEvent.objects.exclude(code__in=sign_in_codes).filter(occurred_at__lt=change_cutoff),
        batch_size,
    )
    return Pruned(sign_in=sign_ins, change=changes)


def _delete_in_batches(events: QuerySet[SecurityEvent], batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(events.order_by("occurred_at").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            SecurityEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
