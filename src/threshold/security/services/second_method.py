"""Proving a second method: the one check behind the sign-in challenge, the reset and the removal confirmation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from django.http import HttpRequest
from django.utils.translation import ngettext

from threshold.accounts.models import VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.security import webauthn
from threshold.security.models import MethodKind, RecoveryCode, SignInMethod
from threshold.security.selectors.challenge import SecondStepOption
from threshold.security.services.method_use import check_passkey_counter, note_authenticator_used
from threshold.security.services.recovery_codes import use_recovery_code
from threshold.security.services.text_messages import check_text_message_code
from threshold.verification import throttle


def prove_second_method(
    *,
    request: HttpRequest,
    user: Any,
    option: SecondStepOption,
    code: str = "",
    credential: Any = None,
    throttled: Callable[[int], Refused],
    wrong: Callable[[SecondStepOption], Refused],
    failure_event: str,
    failure_details: dict[str, Any] | None = None,
    before: datetime | None = None,
    purpose: VerificationPurpose = VerificationPurpose.SIGN_IN,
    not_number: str = "",
    signs_in: bool = True,
    quiet: bool = False,
    counter_refusal_fails: bool = False,
) -> SignInMethod | RecoveryCode | None:
    """Check the code (or the passkey's answer) for ``option``; return the method or recovery code it proved.

    What differs per flow is handed in: ``throttled(wait)`` and ``wrong(option)`` make the
    refusals raised, ``failure_event`` is recorded on a wrong answer, ``before`` accepts only
    methods and recovery codes older than then, ``purpose`` is the text-message code's,
    ``not_number`` is a phone that cannot serve, ``signs_in`` lets an authenticator-app code
    record an MFA sign-in in this session, ``quiet`` leaves a recovery code's alert to the
    flow, and ``counter_refusal_fails`` counts a passkey's stale signature counter as a wrong
    answer instead of refusing with its own message.

    SECURITY: every flow counts wrong answers against the same per-account limit as the
    second step at sign-in, so no page is a way round its limit on guessing codes.
    """
    wait = throttle.begin_second_step(user)
    if wait:
        raise throttled(wait)
    used: SignInMethod | RecoveryCode | None = None
    ok = False
    method = option.method
    if option.kind == "recovery_code":
        used = use_recovery_code(user=user, request=request, code=code, created_before=before, quiet=quiet)
        ok = used is not None
    elif option.kind == MethodKind.PASSKEY:
        try:
            authenticator = check_passkey_step(request=request, user=user, credential=credential)
        except Refused:
            if not counter_refusal_fails:
                raise
            authenticator = None
        if authenticator is not None:
            methods = SignInMethod.objects.filter(authenticator=authenticator)
            if before is not None:
                methods = methods.filter(created_at__lt=before)
            used = methods.first()
            ok = before is None or used is not None
    elif (
        method is not None
        and before is not None
        and (method.user_id != user.pk or method.created_at >= before)
    ):
        ok = False
    elif option.kind == MethodKind.TEXT_MESSAGE and method is not None:
        # SECURITY: a phone that already received this flow's other code cannot be the second method too.
        if method.phone is not None and method.phone.number != not_number:
            ok = check_text_message_code(
                request=request, user=user, method=method, code=code, purpose=purpose
            )
        used = method if ok else None
    elif option.kind == MethodKind.AUTHENTICATOR_APP and (method is not None or before is None):
        # allauth's public form checks the code against the account's authenticator app and
        # refuses a code already used in its time window (recorded in the shared cache, so
        # across processes). Saving it records an MFA sign-in, so a signed-out flow only
        # notes that the app was used.
        form = AuthenticateForm(user=user, data={"code": code})
        ok = form.is_valid()
        if ok and signs_in:
            form.save()
            used = method
        elif ok:
            form.authenticator.record_usage()
            note_authenticator_used(authenticator=form.authenticator)
    if not ok:
        record_event(
            failure_event,
            user=user,
            request=request,
            method=option.kind,
            result=Result.FAILURE,
            details=failure_details,
        )
        raise wrong(option)
    throttle.clear_second_step_failures(user)
    return used


def too_many_wrong_answers(wait: int) -> Refused:
    """The refusal while the account waits out its limit on wrong second-step answers."""
    return Refused(
        ngettext(
            "Too many wrong codes. Wait %(seconds)d second and try again.",
            "Too many wrong codes. Wait %(seconds)d seconds and try again.",
            wait,
        )
        % {"seconds": wait},
        code="throttled",
    )


def check_passkey_step(*, request: HttpRequest, user: Any, credential: Any) -> Authenticator | None:
    answer = webauthn.complete_second_step(request, user, credential)
    if answer is None:
        return None
    authenticator, response = answer
    check_passkey_counter(
        request=request, authenticator=authenticator, counter=webauthn.signature_counter(response)
    )
    authenticator.record_usage()
    note_authenticator_used(authenticator=authenticator)
    return authenticator
