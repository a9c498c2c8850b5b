"""The only writer of security events, and the security alerts some of them send."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation

from threshold.activity import alerts, catalog, registry, risk, selectors
from threshold.activity.models import EventReport, Result, SecurityEvent, SignInAssessment, Verdict
from threshold.core.context import RequestContext, context_of, country_name
from threshold.core.mail import send_templated_mail

logger = logging.getLogger(__name__)


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
    quiet: bool = False,
) -> SecurityEvent:
    """Append one event of a catalogued type.

    ``user`` is the account the event is about (None for an unknown email). ``actor`` is who
    did it, when not the account holder (an admin, the system). The request's context is
    parsed once and snapshotted with the row. A successful change whose type has
    ``notify_user`` queues a security alert for when the surrounding transaction commits;
    ``quiet`` records one without its own alert because it is a step of a larger change
    whose alert already says so (the recovery codes made while turning on two-step
    verification), so that one change is still one mail per address.
    """
    event_type = catalog.get(code)
    ctx = context or context_of(request)
    subject = user if user is not None and getattr(user, "pk", None) else None
    actor = actor if actor is not None else subject
    event = SecurityEvent.objects.create(
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
    if event_type.notify_user and not quiet and subject is not None and result == Result.SUCCESS:
        # SECURITY: queued on commit, so a change that is rolled back never alarms anyone
        # and one that is committed always does, even if a later step of the request fails.
        event_id = event.pk
        transaction.on_commit(lambda: _queue_security_alert(event_id))
    return event


def _queue_security_alert(event_id: int) -> None:
    from threshold.activity.tasks import deliver_security_alert

    deliver_security_alert.enqueue(event_id)


# --- Security alerts -----------------------------------------------------------------------


def alert_recipients(event: SecurityEvent) -> list[str]:
    """Every verified address of the account, and a verified address that was just removed.

    Unverified addresses are never mailed: they may not belong to the account holder.
    """
    recipients = list(registry.alert_addresses(event.user)) if event.user is not None else []
    removed = str(event.details.get("email", ""))
    if event.code == "account:email:remove" and event.details.get("was_verified") and removed:
        recipients.append(removed)
    unique: dict[str, str] = {}
    for address in recipients:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def _alert_values(event: SecurityEvent) -> dict[str, Any]:
    """The event's details as an alert shows them, in the active language.

    A detail some app registered a formatter for (a phone number's ending, a method's name)
    is shown as that formatter renders it (activity/registry.py).
    """
    values: dict[str, Any] = dict(event.details or {})
    for key, value in values.items():
        if not isinstance(value, int | float):
            values[key] = str(value)
    for key, formatter in registry.detail_formatters().items():
        if key in values:
            values[key] = formatter(values[key])
    return values


def alert_sentence(event: SecurityEvent) -> str:
    """What changed, in the active language, from the catalogue's sentence and the details."""
    event_type = event.event_type
    if event_type.alert is None:
        return str(event_type.label)
    try:
        return str(event_type.alert % _alert_values(event))
    except (KeyError, ValueError, TypeError):
        return str(event_type.label)


def alert_lines(event: SecurityEvent) -> list[str]:
    """The catalogue's further lines for this event whose condition its details meet."""
    values = _alert_values(event)
    lines = []
    for line in event.event_type.alert_more:
        if line.when and not values.get(line.when):
            continue
        try:
            lines.append(str(line.text % values))
        except (KeyError, ValueError, TypeError):
            continue  # a detail the line needs is missing: leave the line out, not the alert
    return lines


def send_security_alert(*, event_id: int) -> int:
    """Tell the account holder about one security change; returns how many addresses were mailed.

    One message per address, in the person's language and time zone, saying what changed
    (the catalogue's ``alert`` sentence and ``alert_more`` lines), when, from which device
    and country, and what to do if it was not them.

    allauth's own notices for the same changes (see ``REPLACED_NOTIFICATIONS`` in
    threshold.accounts.adapter) are switched off so each change produces exactly one mail
    per address: this one, which also reaches every verified address rather than only the
    primary one, and says where it came from.
    """
    event = SecurityEvent.objects.select_related("user").filter(pk=event_id).first()
    if event is None or event.user is None:
        return 0
    user = event.user
    recipients = alert_recipients(event)
    language = getattr(user, "locale", "") or settings.LANGUAGE_CODE
    base_url = settings.BASE_URL
    with translation.override(language):
        context = {
            "name": user.get_short_name(),
            "event_label": str(event.event_type.label),
            "sentence": alert_sentence(event),
            "more": alert_lines(event),
            "occurred_at": event.occurred_at,
            "time_zone": getattr(user, "time_zone", "") or "UTC",
            "device": event.device,  # in the person's language, not the recording request's
            "country": country_name(event.country, language) if event.country else "",
            "ip": event.ip or "",
            "change_password_url": base_url + reverse("account_change_password"),
            "reset_password_url": base_url + reverse("recover_password"),
            "account_url": base_url + reverse("overview"),
            "not_me_url": base_url + reverse("security_not_me"),
            "security_url": base_url + reverse("security_info"),
        }
    sent = 0
    for address in recipients:
        try:
            send_templated_mail(
                template="activity/email/security_alert", to=[address], context=context, language=language
            )
        except OSError:
            # One unreachable mail server must not stop the other addresses being told.
            logger.exception("Security alert %s could not be mailed", event.code)
            continue
        sent += 1
    return sent


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
    # Organisations with a longer retention (a Premium feature, registered by threshold.orgs)
    # keep their members' sign-ins for their own period instead.
    longer = registry.longer_retention()
    sign_ins = _delete_in_batches(
        SecurityEvent.objects.filter(code__in=sign_in_codes, occurred_at__lt=sign_in_cutoff).exclude(
            user__organization_id__in=list(longer)
        ),
        batch_size,
    )
    for organization_id, days in longer.items():
        sign_ins += _delete_in_batches(
            SecurityEvent.objects.filter(
                code__in=sign_in_codes,
                user__organization_id=organization_id,
                occurred_at__lt=now - timedelta(days=days),
            ),
            batch_size,
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
