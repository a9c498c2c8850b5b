"""The second step at sign-in, and the codes typed to confirm it's you."""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.devices.models import TrustedDevice
from threshold.devices.selectors import trusted_device_for
from threshold.orgs import policies
from threshold.security.models import MethodKind, RecoveryCode, SignInMethod
from threshold.security.selectors.challenge import SECOND_STEP_SESSION_KEY, SecondStepOption
from threshold.security.selectors.methods import two_step_required
from threshold.security.services.second_method import prove_second_method, too_many_wrong_answers
from threshold.verification import throttle
from threshold.verification.sign_in import VOUCHED_RESETS, sign_in_proven_by, used_passwordless_passkey


def second_step_needed(*, request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in must ask for a second method (called by the login stage)."""
    if policies.unfamiliar_sign_in_needs_second_step(request=request, user=user):
        return True  # the organisation asks for one on an unfamiliar sign-in, trusted device or not
    if not two_step_required(user):
        return False
    if sign_in_proven_by(request) in VOUCHED_RESETS:
        # The pass, or the completed account recovery (both codes and the wait, or an
        # operator's approval), is the proof: the other methods are what was lost.
        return False
    if used_passwordless_passkey(request, user):
        return False  # a passkey is already something you have and something you are
    device = trusted_device_for(request, user)
    if device is not None:
        TrustedDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
        record_event(
            "account:signin:second_step",
            user=user,
            request=request,
            method="trusted_device",
            details={"device": str(device.public_id)},
        )
        return False
    return True


def verify_second_step(
    *,
    request: HttpRequest,
    user: Any,
    option: SecondStepOption,
    code: str = "",
    credential: Any = None,
) -> None:
    """Check the code (or the passkey's answer) for the chosen way; raise ``Refused`` with what to do if it is wrong."""

    def throttled(wait: int) -> Refused:
        record_event(
            "account:signin:second_step:throttled",
            user=user,
            request=request,
            method=option.kind,
            result=Result.BLOCKED,
            details={"retry_after": wait},
        )
        return too_many_wrong_answers(wait)

    def wrong(option: SecondStepOption) -> Refused:
        if option.kind == MethodKind.PASSKEY:
            return Refused(
                _("That passkey didn't work. Try again, or choose another way to sign in."), code="wrong_code"
            )
        return Refused(_("That code didn't work. Check it and try again."), code="wrong_code")

    used = prove_second_method(
        request=request,
        user=user,
        option=option,
        code=code,
        credential=credential,
        throttled=throttled,
        wrong=wrong,
        failure_event="account:signin:second_step:failure",
    )
    if option.kind == MethodKind.TEXT_MESSAGE and isinstance(used, SignInMethod):
        SignInMethod.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    _note_second_step(request=request, user=user, used=used)
    record_event("account:signin:second_step", user=user, request=request, method=option.kind)


def begin_code_reauthentication(*, user: Any) -> None:
    """Count a code typed to confirm it's you as a second-step answer; ``Refused`` while the account must wait.

    SECURITY: allauth limits wrong codes on its confirm-it's-you page only through its
    ``login_failed`` rate, which Threshold turns off, and its ``reauthenticate`` rate (10 a
    minute, checked and counted apart, so parallel requests pass it together). Here the
    page shares the second step's growing delay: a code is the same guess on either page.
    Call ``code_reauthenticated`` when the code was right.
    """
    wait = throttle.begin_second_step(user)
    if wait:
        raise Refused(
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second and try again.",
                "Too many wrong codes. Wait %(seconds)d seconds and try again.",
                wait,
            )
            % {"seconds": wait},
            code="throttled",
        )


def code_reauthenticated(*, user: Any) -> None:
    """The code was right: the count of wrong second-step answers starts afresh."""
    throttle.clear_second_step_failures(user)


def _note_second_step(*, request: HttpRequest, user: Any, used: SignInMethod | RecoveryCode | None) -> None:
    """Keep in the session what the second step was done with, for ``selectors.removal_wait.proved_older_method``."""
    if not hasattr(request, "session"):
        return
    request.session[SECOND_STEP_SESSION_KEY] = {
        "user": str(user.pk),
        "at": time.time(),
        "method": str(used.public_id) if isinstance(used, SignInMethod) else "",
        "recovery_code": used.pk if isinstance(used, RecoveryCode) else None,
    }
