"""What the account recovery flows share: their refusals and state, and how they mail and text people."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from threshold.accounts.selectors import verified_emails
from threshold.core.errors import Refused
from threshold.core.mail import send_templated_mail
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.recovery.models import (
    AccountRecovery,
)
from threshold.recovery.selectors.account_recovery import token_hash, verified_phones

logger = logging.getLogger(__name__)


# Two ways back into an account whose sign-in methods are gone (issue 5 §2):
#
# * waiting period: the person proves a verified email address AND a verified phone number
#   of the account with one-time codes; the recovery then waits THRESHOLD_RECOVERY_WAIT_DAYS
#   while every address is told and can cancel it (as can any sign-in by the owner); after
#   that the person proves both again and sets a new password.
# * reviewed: someone with nothing left asks our support team, who compare what they
#   remember with the account and approve or deny; an approval mails a completion link.
#
# Both end in ``complete_recovery_and_sign_in``.

# How long the codes work: EMAIL_CODE_TTL["recovery_email"] and ["recovery_contact"] by
# email (30 minutes), PHONE_CODE_TTL by text message (10 minutes); see accounts.codes.code_ttl.
# Once ready, a waiting-period recovery can be completed for this long, then it expires.
RECOVERY_COMPLETION_DAYS = 14
# An approved request's completion link works this long.
APPROVAL_LINK_HOURS = 48


class RecoveryRefused(Refused):
    """Nothing was done; ``message`` tells the person why and what to do."""


@dataclass(frozen=True)
class RecoveryState:
    """Where a waiting-period recovery stands once both proofs are made."""

    recovery: AccountRecovery
    started: bool  # made just now (every address has been told)

    @property
    def ready(self) -> bool:
        return self.recovery.ready_at is not None and self.recovery.ready_at <= timezone.now()


def _normal_email(value: str) -> str:
    return value.strip().lower()


def _recovery_wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    if minutes < 120:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def _too_many_sends(wait: int) -> RecoveryRefused:
    return RecoveryRefused(
        gettext("You've asked for several codes in a short time. Wait %(wait)s, then ask for a new code.")
        % {"wait": _recovery_wait_words(wait)},
        code="throttled",
    )


def _too_many_tries(wait: int) -> RecoveryRefused:
    return RecoveryRefused(
        gettext("You've entered several wrong codes. Wait %(wait)s, then ask for a new code and try again.")
        % {"wait": _recovery_wait_words(wait)},
        code="throttled",
    )


def _recovery_wrong_code() -> RecoveryRefused:
    return RecoveryRefused(
        gettext(
            "That code isn't right, or it has expired. Check the latest message we sent, "
            "or ask for a new code."
        ),
        code="wrong",
    )


def _mail(*, template: str, to: str, context: dict[str, Any], language: str) -> bool:
    try:
        send_templated_mail(template=template, to=[to], context=context, language=language)
    except OSError:
        logger.exception("Account recovery mail %s could not be sent", template)
        return False
    return True


def _text(*, to: str, body: str) -> bool:
    try:
        queue_text(to=to, body=body)
    except SmsDeliveryError:
        logger.warning("A recovery text message was refused by the gateway", exc_info=True)
        return False
    return True


def _language(user: Any) -> str:
    return str(getattr(user, "locale", "") or settings.LANGUAGE_CODE)


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _url(name: str, *args: Any) -> str:
    return settings.BASE_URL + reverse(name, args=args)


def _tell_of_recovery(*, user: Any, recovery: Any, sentence: str, sms: str, cancel_url: str) -> int:
    """Tell every verified address and phone of ``user`` about ``recovery``, with the link to cancel it."""
    return _tell_every_address(
        user=user,
        template="recovery/email/recovery_notice",
        context={
            "name": user.get_short_name(),
            "sentence": sentence,
            "cancel_url": cancel_url,
            "recovery": recovery,
        },
        sms=sms,
    )


def _tell_every_address(*, user: Any, template: str, context: dict[str, Any], sms: str) -> int:
    """Mail every verified address and text every verified phone number; returns how many were told."""
    told = 0
    language = _language(user)
    for address in verified_emails(user):
        told += int(_mail(template=template, to=address, context=context, language=language))
    for number in verified_phones(user):
        told += int(_text(to=number, body=sms))
    return told
