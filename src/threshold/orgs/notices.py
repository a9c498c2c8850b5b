"""Mail to an organisation's admins about one of their members (run as a background task)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from threshold.activity.models import SecurityEvent
from threshold.core.context import country_name
from threshold.core.mail import send_templated_mail
from threshold.orgs.models import ADMIN_ROLES, Membership


def send_held_sign_in_notice(*, event_id: int) -> int:
    """Tell every admin of the member's organisation that an unfamiliar sign-in was held
    because the member has no second method, and how to let them in: a Temporary Access
    Pass from the console. Returns how many admins were mailed.
    """
    event = SecurityEvent.objects.select_related("user", "user__organization").filter(pk=event_id).first()
    member = event.user if event is not None else None
    organization = member.organization if member is not None else None
    if event is None or member is None or organization is None:
        return 0
    admins = (
        Membership.objects.filter(organization=organization, role__in=ADMIN_ROLES, user__is_active=True)
        .exclude(user=member)
        .select_related("user")
    )
    sent = 0
    for admin in (membership.user for membership in admins):
        language = admin.locale or settings.LANGUAGE_CODE
        with translation.override(language):
            context = {
                "admin": admin.get_short_name(),
                "member": member.name,
                "member_email": member.email,
                "organization": organization.name,
                "occurred_at": event.occurred_at,
                "time_zone": admin.time_zone or "UTC",
                "device": event.device,
                "country": country_name(event.country, language) if event.country else "",
                "ip": event.ip or "",
                "access_pass_url": settings.BASE_URL
                + reverse("console:access_pass", args=[member.public_id]),
            }
        send_templated_mail(
            template="orgs/email/sign_in_held", to=[admin.email], context=context, language=language
        )
        sent += 1
    return sent
