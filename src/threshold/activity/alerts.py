"""Messages to the account holder about something that happened on their account.

The security alert a catalogued change sends (``send_security_alert``) and the warning about an
unfamiliar sign-in (``send_unfamiliar_sign_in``).
"""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from threshold.activity import registry
from threshold.activity.models import SecurityEvent
from threshold.activity.selectors import ActivityItem
from threshold.core.context import country_name
from threshold.core.mail import send_templated_mail

logger = logging.getLogger(__name__)


def send_unfamiliar_sign_in(*, event_id: int) -> None:
    """Email the person about an unfamiliar sign-in: what, when, where, which device, and why.

    Written in their language and time zone. It runs once the sign-in has committed; a mail
    server that fails is logged and does not turn a finished sign-in into an error page.
    SECURITY: the "This wasn't me" link opens the sign-in's page, where the answer is a POST
    with a CSRF token; a link that acted on GET could be followed by a mail scanner or forged.
    """
    event = SecurityEvent.objects.select_related("user", "assessment").filter(pk=event_id).first()
    if event is None or event.user is None:
        return
    user = event.user
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    context = {
        "person": user,
        "item": ActivityItem(event, getattr(event, "assessment", None)),
        "time_zone": str(zone),
        "event_url": settings.BASE_URL + reverse("activity_event", args=[event.pk]),
        "reset_url": settings.BASE_URL + reverse("recover_password"),
    }
    try:
        with timezone.override(zone):
            send_templated_mail(
                template="activity/email/unfamiliar_sign_in",
                to=[user.email],
                context=context,
                language=getattr(user, "locale", None),
                key=f"unfamiliar-sign-in:{event.pk}",
            )
    except Exception:  # any mail failure is logged: the sign-in has happened
        logger.exception("Could not send the unfamiliar sign-in alert for event %s", event_id)


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
                template="activity/email/security_alert",
                to=[address],
                context=context,
                language=language,
                # A rerun of this task (after a killed worker) queues nothing twice.
                key=f"security-alert:{event.pk}:{address}",
            )
        except OSError:
            # One unreachable mail server must not stop the other addresses being told.
            logger.exception("Security alert %s could not be mailed", event.code)
            continue
        sent += 1
    return sent
