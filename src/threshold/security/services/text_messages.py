"""Sign-in and confirmation codes sent by text message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from threshold.accounts import codes as phone_codes
from threshold.accounts.models import VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.core.errors import Refused
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.methods import masked_number


def send_text_message_code(
    *,
    user: Any,
    request: HttpRequest | None,
    method: SignInMethod,
    purpose: VerificationPurpose = VerificationPurpose.SIGN_IN,
) -> None:
    """Text a sign-in code to the method's phone (or, for ``CONFIRM_CHANGE``, a code that confirms a change).

    The codes are threshold.accounts.codes', the same as for verifying a number: 6 digits,
    10 minutes, single use, and the same caps per number, account and client address.
    SECURITY: sending again keeps the count of wrong tries; a code is bound to its purpose,
    so one sent to confirm a change cannot sign anyone in, nor the other way round.
    """
    if method.user_id != user.pk or method.kind != MethodKind.TEXT_MESSAGE or method.phone is None:
        raise Refused(_("That way of signing in is not available."), code="not_found")
    number = method.phone.number
    until = phone_codes.stopped_until(phone_codes.open_code(user=user, purpose=purpose, target=number))
    if until is not None:
        raise _codes_stopped(until)
    if phone_codes.send_wait(user=user, number=number, ip=context_of(request).ip):
        record_event(
            "account:signin:code_sent",
            user=user,
            request=request,
            method=MethodKind.TEXT_MESSAGE,
            result=Result.BLOCKED,
            details={"number": masked_number(number)},
        )
        raise Refused(
            _("Too many codes were sent. Wait a while, or choose another way to sign in."), code="send_limit"
        )
    try:
        # The message goes out inside the transaction: if the gateway refuses it, the new
        # code is not saved and no "sent" event claims otherwise.
        with transaction.atomic():
            code = phone_codes.issue_code(
                user=user, purpose=purpose, target=number, flow=phone_codes.flow_of(request)
            )
            with translation.override(user.locale):
                if purpose == VerificationPurpose.CONFIRM_CHANGE:
                    body = _(
                        "%(code)s is your Threshold code to confirm a change to your sign-in methods. "
                        "It expires in %(minutes)d minutes. Never share it."
                    ) % {"code": code, "minutes": settings.PHONE_CODE_TTL // 60}
                else:
                    body = _(
                        "%(code)s is your Threshold sign-in code. It expires in %(minutes)d minutes. "
                        "Never share it: Threshold will never ask you for it."
                    ) % {"code": code, "minutes": settings.PHONE_CODE_TTL // 60}
            record_event(
                "account:signin:code_sent",
                user=user,
                request=request,
                method=MethodKind.TEXT_MESSAGE,
                details={"number": masked_number(number), "purpose": str(purpose)},
            )
            queue_text(to=number, body=phone_codes.origin_bound(body, code))
    except phone_codes.CodesStopped as exc:
        raise _codes_stopped(exc.until) from exc
    except SmsDeliveryError as exc:
        raise Refused(
            _("The text message could not be sent. Try again, or choose another way to sign in."),
            code="not_sent",
        ) from exc


def _codes_stopped(until: datetime) -> Refused:
    return Refused(
        _("Too many wrong codes. Choose another way to sign in, or try again after %(time)s.")
        % {"time": formats.time_format(timezone.localtime(until), "TIME_FORMAT")},
        code="too_many_attempts",
    )


def check_text_message_code(
    *,
    request: HttpRequest | None,
    user: Any,
    method: SignInMethod,
    code: str,
    purpose: VerificationPurpose = VerificationPurpose.SIGN_IN,
) -> bool:
    if method.phone is None:
        return False
    check = phone_codes.check_code(
        user=user, purpose=purpose, target=method.phone.number, flow=phone_codes.flow_of(request), code=code
    )
    return check.outcome == phone_codes.Outcome.MATCH
