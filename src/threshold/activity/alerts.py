"""Messages to the account holder about something that happened on their account."""

from __future__ import annotations

import logging
import zoneinfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from threshold.activity.models import SecurityEvent
from threshold.activity.selectors import ActivityItem
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
        zone = zoneinfo.ZoneInfo(user.time_zone)  # type: ignore[attr-defined]
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
