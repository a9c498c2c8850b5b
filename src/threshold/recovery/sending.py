"""The worker's half of the "send me a code" steps that anyone may ask about any address.

SECURITY: the request half (``services``) does the same work whatever was typed: it counts the
throttles, keeps the flow and queues one task. Only here, in ``threshold worker``, is the account
looked up, the code issued, the event recorded and the message queued; an unknown account or an
address that is not the account's gives a task that finds nothing to send. So neither the
answer nor the time it takes tells whether an account or address exists.

Each task's work commits once: ``first_run`` records the task's id in the same transaction, so a
task re-run after a killed worker neither issues a second code nor sends a second message.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from threshold.accounts import codes as phone_codes
from threshold.accounts.models import User, VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import RequestContext
from threshold.core.delivery import first_run
from threshold.core.errors import PolicyDenied
from threshold.core.mail import send_templated_mail
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery.selectors.account_recovery import (
    has_verified_email,
    has_verified_phone,
    recovery_account,
)
from threshold.recovery.selectors.password_reset import is_reset_target
from threshold.security.selectors.methods import masked_number

logger = logging.getLogger(__name__)


def code_minutes(purpose: str) -> int:
    """Minutes a recovery code for ``purpose`` works (the phone's by text, the others by email)."""
    target = "+0" if purpose == VerificationPurpose.RECOVERY_PHONE else "@"
    return phone_codes.code_ttl(purpose=purpose, target=target) // 60


def _language(user: Any) -> str:
    return str(getattr(user, "locale", "") or settings.LANGUAGE_CODE)


def send_password_reset_code(
    *, run_key: str, user_id: int | None, target: str, flow: str, context: RequestContext
) -> bool:
    """Issue and queue a reset code if ``target`` is a verified address or number of the account.

    True when a code was sent. Whatever happens, the person was already told the same thing.
    """
    user = User.objects.filter(pk=user_id or 0, is_active=True, closed_at__isnull=True).first()
    if user is None or not is_reset_target(user, target):
        return False
    try:
        policies.require(user, Action.PASSWORD_RESET_SELF_SERVICE)
    except PolicyDenied:
        return False  # an organisation that resets passwords itself: nothing is sent, as for anyone else
    purpose = VerificationPurpose.PASSWORD_RESET
    by_email = phone_codes.is_email(target)
    shown = target if by_email else masked_number(target)
    details = {"email": target} if by_email else {"number": shown}
    ip = context.ip
    with transaction.atomic():
        if not first_run(run_key):
            return False
        wait = (
            phone_codes.mail_send_wait(user=user, address=target, ip=ip)
            if by_email
            else phone_codes.send_wait(user=user, number=target, ip=ip)
        )
        if wait:
            record_event(
                "account:password:reset:throttled",
                user=user,
                context=context,
                result=Result.BLOCKED,
                details={**details, "retry_after": wait, "step": "send"},
            )
            return False
        try:
            # Queued in the same transaction as the code: a code that is not saved is never sent,
            # and no "sent" event claims otherwise.
            with transaction.atomic():
                code, token = phone_codes.issue_code_and_link(
                    user=user, purpose=purpose, target=target, flow=flow
                )
                record_event(
                    "account:password:reset:code_sent",
                    user=user,
                    context=context,
                    method="email_code" if by_email else "text_message",
                    details=details,
                )
                minutes = phone_codes.code_ttl(purpose=purpose, target=target) // 60
                if by_email:
                    _mail_reset_code(user=user, address=target, code=code, token=token, minutes=minutes)
                else:
                    with translation.override(user.locale):
                        body = gettext(
                            "%(code)s is your Threshold code to reset your password. It expires in "
                            "%(minutes)d minutes. Never share it: Threshold will never ask you for it."
                        ) % {"code": code, "minutes": minutes}
                    queue_text(to=target, body=phone_codes.origin_bound(body, code))
        except phone_codes.CodesStopped:
            return False  # the person is told at the next step, as for an unknown account
        except (SmsDeliveryError, OSError):
            logger.warning("A password reset code could not be sent", exc_info=True)
            return False
    return True


def _mail_reset_code(*, user: Any, address: str, code: str, token: str, minutes: int) -> None:
    send_templated_mail(
        template="recovery/email/password_reset_code",
        to=[address],
        context={
            "name": user.get_short_name(),
            "code": code,
            "minutes": minutes,
            "link": settings.BASE_URL + reverse("recover_password_link_token", args=[token]),
            "recover_url": settings.BASE_URL + reverse("recover"),
        },
        language=user.locale,
    )


def send_recovery_email_code(*, run_key: str, account_email: str, address: str, flow: str) -> bool:
    """Issue and mail an account recovery code if ``address`` is a verified address of the
    account that ``account_email`` names; True when a code was sent."""
    user = recovery_account(account_email)
    if user is None or not has_verified_email(user, address):
        return False
    try:
        with transaction.atomic():
            if not first_run(run_key):
                return False
            code = phone_codes.issue_code(
                user=user, purpose=VerificationPurpose.RECOVERY_EMAIL, target=address, flow=flow
            )
            send_templated_mail(
                template="recovery/email/recovery_code",
                to=[address],
                context={
                    "code": code,
                    "minutes": code_minutes(VerificationPurpose.RECOVERY_EMAIL),
                    "purpose": "account",
                },
                language=_language(user),
            )
    except phone_codes.CodesStopped:
        return False  # the tries are used up; the next check says so, as it does for anyone
    return True


def send_recovery_phone_code(*, run_key: str, account_email: str, number: str, flow: str) -> bool:
    """Issue and text an account recovery code if ``number`` is a verified number of the account
    that ``account_email`` names (its limits were counted by the request)."""
    user = recovery_account(account_email)
    if user is None or not has_verified_phone(user, number):
        return False
    try:
        with transaction.atomic():
            if not first_run(run_key):
                return False
            code = phone_codes.issue_code(
                user=user, purpose=VerificationPurpose.RECOVERY_PHONE, target=number, flow=flow
            )
            with translation.override(_language(user)):
                body = gettext(
                    "%(code)s is your Threshold account recovery code. It expires in %(minutes)d minutes. "
                    "If you aren't recovering your account, ignore this message and don't share the code."
                ) % {"code": code, "minutes": code_minutes(VerificationPurpose.RECOVERY_PHONE)}
            queue_text(to=number, body=phone_codes.origin_bound(body, code))
    except phone_codes.CodesStopped:
        return False
    except SmsDeliveryError:
        logger.warning("A recovery text message was refused by the gateway", exc_info=True)
        return False
    return True
