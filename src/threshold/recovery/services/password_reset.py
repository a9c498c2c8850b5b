"""Resetting a forgotten password: codes, the link, the second step and the new password."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, ngettext

from threshold.accounts import codes as phone_codes
from threshold.accounts.models import User, VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.core.errors import Refused
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.devices.services import unlock_account
from threshold.orgs import policies
from threshold.recovery import tasks
from threshold.recovery.selectors.password_reset import (
    RESET_LINK_PURPOSE,
    RESET_SESSION_KEY,
    ResetFlow,
    account_for_reset,
    is_reset_target,
)
from threshold.security.models import MethodKind
from threshold.security.selectors.challenge import SecondStepOption
from threshold.security.selectors.methods import masked_number, two_step_required
from threshold.security.services.passwords import note_password_reset
from threshold.security.services.second_method import prove_second_method
from threshold.verification import hashing, throttle
from threshold.verification.links import forget_link_token

# SECURITY: every answer of the reset is the same whether or not the email typed has an
# account and whether or not the address or number asked for belongs to it: the same
# pages, words, statuses and redirects; codes are sent, tries counted in the database and
# events recorded only for a real account, and a browser-independent counter in the cache
# gives an unknown account the same "too many wrong codes" after the same five tries.


class ResetRefused(Refused):
    """The step was not taken; ``message`` says what to do."""


def _wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _reset_throttled(*, request: HttpRequest | None, user: Any, wait: int, step: str) -> ResetRefused:
    if user is not None:
        record_event(
            "account:password:reset:throttled",
            user=user,
            request=request,
            result=Result.BLOCKED,
            details={"retry_after": wait, "step": step},
        )
    return ResetRefused(
        gettext("You've tried several times in a short while. Wait %(wait)s, then try again.")
        % {"wait": _wait_words(wait)},
        code="throttled",
    )


def _take_reset_step(*, request: HttpRequest | None, email: str, user: Any, step: str) -> None:
    """Count one step of a reset per email typed and per client address; refuse over the limits."""
    limits = settings.PASSWORD_RESET_LIMITS
    ip = context_of(request).ip or "none"
    keys = [
        (f"reset:account:{hashing.digest(email.lower())}", count, window)
        for count, window in limits["account"]
    ] + [(f"reset:address:{hashing.digest(ip)}", count, window) for count, window in limits["address"]]
    wait = throttle.take(keys)
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step=step)


def _flow_user(flow: ResetFlow) -> User | None:
    # SECURITY: the same query whether or not the flow has an account (0 is no account's key).
    return User.objects.filter(pk=flow.user_id or 0, is_active=True, closed_at__isnull=True).first()


def _save_flow(request: HttpRequest, flow: ResetFlow) -> None:
    request.session[RESET_SESSION_KEY] = flow.as_dict()


def start_password_reset(*, request: HttpRequest, email: str) -> ResetFlow:
    """Step 1: the email address the person signs in with. Nothing is sent yet."""
    email = email.strip().lower()
    user = account_for_reset(email)
    _take_reset_step(request=request, email=email, user=user, step="start")
    # SECURITY: decided by the address's domain alone (an organisation that verified it and
    # turned self-service reset off), so the answer says nothing about whether the account exists.
    decision = policies.self_service_reset_for_email(email)
    if not decision.allowed:
        raise ResetRefused(decision.message, code=decision.reason_code)
    flow = ResetFlow(email=email, user_id=user.pk if user else None, started_at=time.time())
    forget_link_token(request, RESET_LINK_PURPOSE)
    _save_flow(request, flow)
    return flow


def send_password_reset_code(*, request: HttpRequest, flow: ResetFlow, target: str) -> None:
    """Step 2: queue the sending of a code to ``target`` (a lower-case email address or an E.164
    number); the worker sends it if ``target`` is a verified address or number of the account.

    SECURITY: whatever was typed, this request does the same work (the same queries, one task
    queued) and the person is told the same thing: if it is on the account, a code was sent.
    Whether it is, is decided in the worker (``sending.send_password_reset_code``).
    """
    user = _flow_user(flow)
    # Bound before anything depends on the account, so a known and an unknown one do alike.
    code_flow = phone_codes.flow_of(request)
    _take_reset_step(request=request, email=flow.email, user=user, step="send")
    flow.target, flow.code_ok_at, flow.issued_at, flow.second_step = target, 0.0, "", ""
    _save_flow(request, flow)
    ctx = context_of(request)
    tasks.send_password_reset_code.enqueue(
        user_id=user.pk if user is not None else None,
        target=target,
        flow=code_flow,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
    )


def _wrong_code() -> ResetRefused:
    return ResetRefused(
        gettext("That code didn't work. Check it and try again, or ask for a new code."), code="wrong_code"
    )


def _codes_stopped() -> ResetRefused:
    return ResetRefused(
        gettext(
            "Too many wrong codes, so codes for this address or number are stopped for an hour. "
            "Try again later, or use another way back in."
        ),
        code="too_many_attempts",
    )


def _tries_key(flow: ResetFlow) -> str:
    return f"reset-tries:{hashing.digest(flow.email)}:{hashing.digest(flow.target)}"


def _take_check(*, request: HttpRequest | None, user: Any) -> None:
    ip = context_of(request).ip or "none"
    wait = throttle.take(
        [
            (f"reset-check:address:{hashing.digest(ip)}", count, window)
            for count, window in settings.PASSWORD_RESET_CHECK_LIMITS
        ]
    )
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step="code")


def _still_fresh(user: Any, issued_at: datetime | None) -> bool:
    """Whether nothing has happened on the account since the code was sent that should end it.

    SECURITY: a sign-in after the code was sent shows the owner is evidently fine, and a
    password change after it means the reset is no longer wanted; either ends the code.
    """
    if issued_at is None:
        return False
    user.refresh_from_db(fields=["last_login", "password_changed_at"])
    if user.last_login is not None and user.last_login > issued_at:
        return False
    return not (user.password_changed_at is not None and user.password_changed_at > issued_at)


def check_password_reset_code(*, request: HttpRequest, flow: ResetFlow, code: str) -> None:
    """Step 3: the code that was sent. Raises ``ResetRefused`` with the same words for every failure."""
    if not flow.target:
        raise _wrong_code()
    user = _flow_user(flow)
    _take_check(request=request, user=user)
    key = _tries_key(flow)
    # SECURITY: counted before the code is compared, in one atomic step (the database
    # cache's own incr is a read then a write), so parallel guesses cannot pass the limit.
    tries = throttle.increment(key, settings.PHONE_CODE_TRY_WINDOW)
    if tries is None:
        raise _reset_throttled(request=request, user=user, wait=1, step="code")
    if tries > settings.PHONE_CODE_MAX_TRIES:
        raise _codes_stopped()
    if user is None or not is_reset_target(user, flow.target):
        if tries >= settings.PHONE_CODE_MAX_TRIES:
            raise _codes_stopped()
        raise _wrong_code()
    with transaction.atomic():
        check = phone_codes.check_code(
            user=user,
            purpose=VerificationPurpose.PASSWORD_RESET,
            target=flow.target,
            flow=phone_codes.flow_of(request),
            code=code,
        )
        fresh = check.outcome == phone_codes.Outcome.MATCH and _still_fresh(user, check.issued_at)
        if not fresh:
            reason = str(check.outcome) if check.outcome != phone_codes.Outcome.MATCH else "superseded"
            record_event(
                "account:password:reset:code_failure",
                user=user,
                request=request,
                result=Result.FAILURE,
                details={"reason": reason},
            )
    if not fresh:
        if check.outcome == phone_codes.Outcome.STOPPED or tries >= settings.PHONE_CODE_MAX_TRIES:
            raise _codes_stopped()
        raise _wrong_code()
    cache.delete(key)
    flow.code_ok_at = time.time()
    flow.issued_at = check.issued_at.isoformat() if check.issued_at else ""
    _save_flow(request, flow)


def use_password_reset_link(*, request: HttpRequest, token: str) -> bool:
    """The link in the reset email: like typing its code, in this browser. False if it does not work."""
    _take_check(request=request, user=None)
    with transaction.atomic():
        row = phone_codes.use_link(purpose=VerificationPurpose.PASSWORD_RESET, token=token)
        if row is None:
            return False
        user = row.user
        if user is None:  # a code row of no account (a recovery request's contact address)
            return False
        ok = user.is_active and user.closed_at is None and _still_fresh(user, row.issued_at)
        if not ok:
            record_event(
                "account:password:reset:code_failure",
                user=user,
                request=request,
                result=Result.FAILURE,
                details={"reason": "superseded", "link": True},
            )
    if not ok:
        return False
    now = time.time()
    flow = ResetFlow(
        email=row.target.lower(),
        user_id=user.pk,
        started_at=now,
        target=row.target,
        code_ok_at=now,
        issued_at=row.issued_at.isoformat(),
    )
    _save_flow(request, flow)
    return True


def _needs_second_method(user: Any) -> bool:
    """Two-step verification is on, or the person's organisation wants two methods for a reset."""
    return two_step_required(user) or policies.reset_methods_required(user) >= 2


def reset_needs_second_step(flow: ResetFlow) -> bool:
    """Whether the reset must also see a second method (see ``_needs_second_method``)."""
    user = _flow_user(flow)
    return user is not None and _needs_second_method(user)


def reset_user(flow: ResetFlow) -> User | None:
    """The account a reset whose code was right is for; None before that."""
    return _flow_user(flow) if flow.code_ok_at else None


def _proven_user(flow: ResetFlow) -> User:
    user = _flow_user(flow) if flow.code_ok_at else None
    if user is None:
        raise ResetRefused(gettext("Start again: your reset has ended."), code="no_reset")
    return user


def send_reset_second_step_text(*, request: HttpRequest, flow: ResetFlow, option: SecondStepOption) -> None:
    """Text a code to a phone method of the account other than the one the reset code went to."""
    user = _proven_user(flow)
    method = option.method
    if (
        option.kind != MethodKind.TEXT_MESSAGE
        or method is None
        or method.phone is None
        or method.user_id != user.pk
        or method.phone.number == flow.target
    ):
        raise ResetRefused(gettext("That way of proving it's you is not available."), code="not_found")
    number = method.phone.number
    purpose = VerificationPurpose.RESET_SECOND_STEP
    wait = phone_codes.send_wait(user=user, number=number, ip=context_of(request).ip)
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step="second_step_send")
    try:
        with transaction.atomic():
            code = phone_codes.issue_code(
                user=user, purpose=purpose, target=number, flow=phone_codes.flow_of(request)
            )
            record_event(
                "account:password:reset:code_sent",
                user=user,
                request=request,
                method=MethodKind.TEXT_MESSAGE,
                details={"number": masked_number(number), "step": "second_step"},
            )
            with translation.override(user.locale):
                body = gettext(
                    "%(code)s is your Threshold code to confirm a password reset. It expires in %(minutes)d minutes. "
                    "Never share it: Threshold will never ask you for it."
                ) % {"code": code, "minutes": phone_codes.code_ttl(purpose=purpose, target=number) // 60}
            queue_text(to=number, body=phone_codes.origin_bound(body, code))
    except phone_codes.CodesStopped as exc:
        raise _codes_stopped() from exc
    except SmsDeliveryError as exc:
        raise ResetRefused(
            gettext("The text message could not be sent. Try again, or choose another way."), code="not_sent"
        ) from exc


def verify_reset_second_step(
    *,
    request: HttpRequest,
    flow: ResetFlow,
    option: SecondStepOption,
    code: str = "",
    credential: Any = None,
) -> None:
    """When two-step verification is on: one more method besides the reset code.

    The same checks as the second step at sign-in (threshold.security), with the same
    per-account limit on wrong answers, recorded as reset events.
    """
    user = _proven_user(flow)
    prove_second_method(
        request=request,
        user=user,
        option=option,
        code=code,
        credential=credential,
        throttled=lambda wait: _reset_throttled(request=request, user=user, wait=wait, step="second_step"),
        wrong=lambda option: ResetRefused(
            gettext("That didn't work. Check it and try again, or choose another way."), code="wrong_code"
        ),
        failure_event="account:password:reset:second_step:failure",
        purpose=VerificationPurpose.RESET_SECOND_STEP,
        # SECURITY: the phone that received the reset code cannot be the second method too.
        not_number=flow.target,
        # Not an MFA sign-in: this session stays signed out until the new password is set.
        signs_in=False,
        # Quiet: the reset's own alert, to every verified address, says what was done.
        quiet=True,
        counter_refusal_fails=True,
    )
    record_event("account:password:reset:second_step", user=user, request=request, method=option.kind)
    flow.second_step = option.kind
    _save_flow(request, flow)


def complete_password_reset(*, request: HttpRequest, flow: ResetFlow, password: str) -> User:
    """Step 4: the new password. In one transaction: the password is set, every session of
    the account ends, every trusted device is forgotten, a lock is lifted, and every
    verified address is told. The person then signs in with the new password.

    Raises ``ValidationError`` for a password our rules refuse and ``ResetRefused`` when
    the reset cannot finish; either way nothing is changed.
    """
    user = _proven_user(flow)
    # SECURITY: asked again here, not only when the code was right: two-step verification
    # turned on meanwhile still needs its second method, so a reset never gets round it.
    if _needs_second_method(user) and not flow.second_step:
        raise ResetRefused(
            gettext("Prove it's you with one of your sign-in methods first."), code="second_step"
        )
    validate_password(password, user)
    issued_at = parse_datetime(flow.issued_at) if flow.issued_at else None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not _still_fresh(user, issued_at):
            raise ResetRefused(
                gettext("This reset is no longer valid because your account changed meanwhile. Start again."),
                code="superseded",
            )
        user.set_password(password)
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        ended, forgotten = note_password_reset(request=request, user=user)
        record_event(
            "account:password:reset",
            user=user,
            request=request,
            method="email_code" if flow.by_email else "text_message",
            details={
                "via": "email" if flow.by_email else "text_message",
                "second_step": flow.second_step,
                "sessions_ended": ended,
                "trusted_devices_forgotten": forgotten,
            },
        )
        # Only a full reset gets here (the code, and a second method when 2SV is on).
        unlock_account(user=user, request=request, via="password_reset")
    throttle.record_success(email=user.email)
    # SECURITY: this browser keeps nothing either: whoever was signed in here is signed
    # out and the reset's state is gone, so the new password is the only way back in.
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        logout(request)
    else:
        request.session.flush()
    return user
