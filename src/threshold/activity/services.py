"""The only writer of security events, and the answers people give about their sign-ins."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from threshold.activity import alerts, catalog, risk, selectors, tasks
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
    tasks.deliver_security_alert.enqueue(event_id)


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


# --- The staff admin -------------------------------------------------------------------------


def record_staff_change(
    *,
    operator: Any,
    request: HttpRequest | None,
    action: str,
    what: str,
    target: str,
    account: Any = None,
    account_recorded: bool = False,
) -> None:
    """Record a change made in the staff admin, on the operator's Recent activity and the account's.

    ``action`` is what was done (``added``, ``changed``, ``deleted``, ``approved`` …), ``what``
    the kind of thing (its model, ``account.emailaddress``) and ``target`` which one. ``account`` is the person the change touched,
    if any; ``account_recorded`` says its own service already recorded the change on that
    account with the operator as actor (an approved recovery, a revoked pass), so it is not
    recorded twice there.
    """
    details = {"action": action, "what": what[:100], "target": target[:200]}
    if account is not None and getattr(account, "pk", None):
        details["account"] = getattr(account, "email", "") or str(account)
    record_event("staff:change", user=operator, request=request, details=details)
    if account is not None and getattr(account, "pk", None) and not account_recorded and account != operator:
        record_event("staff:account:change", user=account, actor=operator, request=request, details=details)
