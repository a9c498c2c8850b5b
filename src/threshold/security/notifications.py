"""Security alerts: an email to every verified address when sign-in security changes.

Each alert is drawn from the recorded event (what, when, device, country), so the email
and the activity log always tell the same story.
"""

from __future__ import annotations

import logging
import zoneinfo
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from threshold.accounts.selectors import verified_emails
from threshold.activity.models import SecurityEvent
from threshold.core.mail import send_templated_mail
from threshold.security.models import MethodKind

logger = logging.getLogger(__name__)

# What each alert says happened; ``%(kind)s`` and ``%(name)s`` come from the event's details.
ALERTS: dict[str, Promise] = {
    "account:method:add": _("%(kind)s “%(name)s” was added to the ways you sign in."),
    "account:method:remove": _("%(kind)s “%(name)s” was removed from the ways you sign in."),
    "account:password:change": _("Your password was changed, and every other session was signed out."),
    "account:2sv:enable": _(
        "Two-step verification was turned on: signing in now needs your password and one of your sign-in methods."
    ),
    "account:2sv:disable": _(
        "Two-step verification was turned off: your password alone now lets someone sign in."
    ),
    "account:recovery_codes:generate": _(
        "A new set of recovery codes was made. The codes you had before no longer work."
    ),
    "account:recovery_codes:use": _("A recovery code was used to sign in to your account."),
}

# allauth's own notification emails that these alerts replace (allauth sends its own only
# to the primary address, without device, country or a way to react).
REPLACED_ALLAUTH_MAILS = frozenset(
    {
        "account/email/password_changed",
        "account/email/password_set",
        "mfa/email/totp_activated",
        "mfa/email/totp_deactivated",
        "mfa/email/webauthn_added",
        "mfa/email/webauthn_removed",
        "mfa/email/recovery_codes_generated",
    }
)


def replaces_allauth_mail(template_prefix: str) -> bool:
    return template_prefix in REPLACED_ALLAUTH_MAILS


@lru_cache(maxsize=512)
def country_name(code: str, language: str) -> str:
    """The country's name in ``language`` (from phonenumbers' data), else its two-letter code."""
    if not code:
        return ""
    try:
        import phonenumbers
        from phonenumbers.geocoder import country_name_for_number

        example = phonenumbers.example_number(code.upper())
        name = country_name_for_number(example, language) if example else ""
    except Exception:  # noqa: BLE001 - a missing name must never stop an alert
        name = ""
    return name or code.upper()


def send_alert(event: SecurityEvent, *, user: Any) -> None:
    """Queue the alert for ``event`` to go out once the change is committed."""
    if event.code not in ALERTS:
        raise KeyError(f"no alert text for {event.code}")
    transaction.on_commit(lambda: _deliver(event, user))


def _more(event: SecurityEvent) -> list[str]:
    details = event.details or {}
    if event.code == "account:recovery_codes:use":
        left = int(details.get("left", 0))
        return [
            ngettext(
                "You have %(left)d recovery code left.",
                "You have %(left)d recovery codes left.",
                left,
            )
            % {"left": left},
            gettext("If you are running low, make a new set on your Security info page."),
        ]
    if event.code == "account:2sv:enable" and details.get("recovery_codes_made"):
        return [gettext("A set of recovery codes was also made; keep them somewhere safe.")]
    if event.code == "account:password:change" and details.get("trusted_devices_forgotten"):
        return [gettext("Devices that skipped two-step verification will be asked again.")]
    return []


def _deliver(event: SecurityEvent, user: Any) -> None:
    recipients = verified_emails(user)
    if not recipients:
        return
    try:
        tz = zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    try:
        with translation.override(user.locale), timezone.override(tz):
            details = dict(event.details or {})
            kind = str(details.get("kind", ""))
            values = {
                "kind": str(MethodKind(kind).label) if kind in MethodKind.values else kind,
                "name": str(details.get("name", "")),
            }
            context = {
                "person": user.get_short_name(),
                "code": event.code,
                "what": str(ALERTS[event.code]) % values,
                "more": _more(event),
                "label": str(event.label),
                "occurred_at": event.occurred_at,
                "device": event.device_label,
                "country": country_name(event.country, user.locale),
                "ip": event.ip or "",
                "not_me_url": settings.BASE_URL + reverse("security_not_me"),
                "security_url": settings.BASE_URL + reverse("security_info"),
            }
            # One message per address: each shows only the address it was sent to.
            for address in recipients:
                send_templated_mail(
                    template="security/email/alert", to=[address], context=context, language=user.locale
                )
    except Exception:  # the change is made; a mail outage must not undo or hide it
        logger.exception("could not send the security alert for %s", event.code)
