"""The only writer of security events, and the security alerts some of them send."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation

from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.core.context import RequestContext, context_of, country_name

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
    from threshold.accounts.selectors import verified_emails

    recipients = verified_emails(event.user) if event.user is not None else []
    removed = str(event.details.get("email", ""))
    if event.code == "account:email:remove" and event.details.get("was_verified") and removed:
        recipients.append(removed)
    unique: dict[str, str] = {}
    for address in recipients:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def _alert_values(event: SecurityEvent) -> dict[str, Any]:
    """The event's details as an alert shows them, in the active language."""
    from threshold.accounts.phones import phone_number_ending
    from threshold.security.models import MethodKind

    values: dict[str, Any] = dict(event.details or {})
    for key, value in values.items():
        if not isinstance(value, int | float):
            values[key] = str(value)
    if "number" in values:
        values["number"] = phone_number_ending(values["number"])
    if values.get("kind") in MethodKind.values:
        values["kind"] = str(MethodKind(values["kind"]).label)
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
    from threshold.core.mail import send_templated_mail

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
            "device": event.device_label,
            "country": country_name(event.country, language) if event.country else "",
            "ip": event.ip or "",
            "change_password_url": base_url + reverse("account_change_password"),
            "reset_password_url": base_url + reverse("account_reset_password"),
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
