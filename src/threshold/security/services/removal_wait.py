"""Replacing every sign-in method: the removal that waits, its confirmation and its cancelling."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.accounts.models import VerificationPurpose
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.core.mail import send_templated_mail
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.devices.models import TrustReason
from threshold.devices.selectors import session_key_of
from threshold.devices.services import end_sessions, revoke_trust
from threshold.security.models import MethodKind, RemovalStatus, ScheduledRemoval, SignInMethod
from threshold.security.selectors.challenge import SecondStepOption
from threshold.security.selectors.removal_wait import (
    older_addresses,
    pending_removals,
    proved_older_method,
    removal_by_token,
    removal_must_wait,
    token_digest,
    wait_days,
    window_start,
)
from threshold.security.services.challenge import check_passkey_step
from threshold.security.services.guard_rails import removal_decision, settings_for_update
from threshold.security.services.recovery_codes import use_recovery_code
from threshold.security.services.text_messages import check_text_message_code, send_text_message_code
from threshold.verification import throttle
from threshold.verification.sign_in import vouched_reset

logger = logging.getLogger(__name__)


def vouched_by(*, request: HttpRequest | None, user: Any, before: datetime | None = None) -> str:
    """Why removing the last older method need not wait for this request, or "" if it must.

    SECURITY: a session that proved an older method within the fresh-sign-in window was
    confirmed by that method, which is all the wait asks for. A session from a completed
    account recovery or a Temporary Access Pass already waited, or was vouched for by an
    administrator; another wait would only keep the owner from finishing the repair.
    """
    reset = vouched_reset(request)
    if reset:
        return reset
    proved = proved_older_method(request, user, before=before or window_start())
    return f"sign_in:{proved}" if proved else ""


def _removal_waits(*, user: Any, request: HttpRequest | None, methods: list[SignInMethod]) -> bool:
    return removal_must_wait(user, methods) and not vouched_by(request=request, user=user)


def removal_waits(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> bool:
    """Whether removing ``method`` from this request would be scheduled rather than done now."""
    return _removal_waits(user=user, request=request, methods=[method])


def schedule_removal(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> ScheduledRemoval:
    """Record the waiting removal and tell the older addresses once it commits. Call locked."""
    existing = ScheduledRemoval.objects.filter(method=method, status=RemovalStatus.PENDING).first()
    if existing is not None:
        return existing
    # SECURITY: the cancel link's token is mailed and texted, never stored: only its hash is.
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    removal = ScheduledRemoval.objects.create(
        user=user,
        method=method,
        kind=method.kind,
        name=method.name,
        requested_at=now,
        effective_at=now + timedelta(days=wait_days()),
        cancel_token_hash=token_digest(token),
    )
    addresses = older_addresses(user, before=window_start(now))
    event = record_event(
        "account:method:removal_scheduled",
        user=user,
        request=request,
        method=method.kind,
        details={
            "kind": method.kind,
            "name": method.name,
            "removal": str(removal.public_id),
            "effective_at": removal.effective_at.isoformat(),
            "wait_days": wait_days(),
            "told_emails": len(addresses.emails),
            "told_phones": len(addresses.phones),
        },
    )
    # SECURITY: sent from this process once the change commits rather than through the task
    # queue, whose arguments are stored in the database: the token must not be.
    transaction.on_commit(
        partial(
            _tell_older_addresses,
            removal_id=removal.pk,
            event_id=event.pk,
            token=token,
            emails=addresses.emails,
            phones=addresses.phones,
        )
    )
    return removal


def _tell_older_addresses(
    *, removal_id: int, event_id: int, token: str, emails: list[str], phones: list[str]
) -> None:
    """Mail and text the older addresses: what is set to be removed, when, and how to cancel.

    SECURITY: these go to the addresses from before the window, not to the account's
    addresses now: whoever replaces every method may have added an address of their own.
    A gateway or mail server that fails is logged; the change is already committed.
    """
    removal = ScheduledRemoval.objects.select_related("user").filter(pk=removal_id).first()
    event = SecurityEvent.objects.filter(pk=event_id).first()
    if removal is None:
        return
    user = removal.user
    language = getattr(user, "locale", "") or settings.LANGUAGE_CODE
    cancel_url = settings.BASE_URL + reverse("security_removal_cancel_link", args=[token])
    with translation.override(language):
        kind = str(MethodKind(removal.kind).label)
        context = {
            "name": user.get_short_name(),
            "method_name": removal.name,
            "method_kind": kind,
            "effective_at": removal.effective_at,
            "requested_at": removal.requested_at,
            "days": wait_days(),
            "time_zone": getattr(user, "time_zone", "") or "UTC",
            "device": event.device if event is not None else "",
            "cancel_url": cancel_url,
            "not_me_url": settings.BASE_URL + reverse("security_not_me"),
            "security_url": settings.BASE_URL + reverse("security_info"),
        }
        sms_body = _(
            "Threshold: your sign-in method “%(name)s” is set to be removed on %(date)s, "
            "replacing every older way you sign in. Not you? Cancel it: %(url)s"
        ) % {
            "name": removal.name,
            "date": formats.date_format(removal.effective_at, "DATE_FORMAT"),
            "url": cancel_url,
        }
    for address in emails:
        try:
            send_templated_mail(
                template="security/email/removal_scheduled", to=[address], context=context, language=language
            )
        except OSError:
            logger.exception("The scheduled removal %s could not be mailed", removal.public_id)
    for number in phones:
        try:
            queue_text(to=number, body=sms_body)
        except SmsDeliveryError:
            logger.exception("The scheduled removal %s could not be texted", removal.public_id)


def _lock_removal(pk: int) -> ScheduledRemoval | None:
    """The removal, locked, if it is still waiting; the account's settings are locked first,
    in the same order as removing a method, so the two never wait on each other."""
    user_id = ScheduledRemoval.objects.filter(pk=pk).values_list("user_id", flat=True).first()
    if user_id is None:
        return None
    settings_for_update(get_user_model()(pk=user_id))
    return (
        ScheduledRemoval.objects.select_for_update()
        .filter(pk=pk, status=RemovalStatus.PENDING)
        .select_related("user")
        .first()
    )


def _apply_removal(*, pk: int, request: HttpRequest | None, status: RemovalStatus, how: str) -> bool:
    """Remove the method of a waiting removal now; False if it was no longer waiting or could not go.

    Safe to call twice or side by side: the row is locked and must still be waiting.
    """
    with transaction.atomic():
        removal = _lock_removal(pk)
        now = timezone.now()
        if removal is None or (status == RemovalStatus.APPLIED and removal.effective_at > now):
            return False
        user = removal.user
        method = (
            SignInMethod.objects.filter(pk=removal.method_id, user=user).first()
            if removal.method_id is not None
            else None
        )
        refusal = ""
        if method is None:
            refusal = "method_gone"
        else:
            decision = removal_decision(user=user, method=method)
            if not decision.allowed:
                refusal = decision.reason_code or "not_allowed"
        if refusal:
            # The method went some other way (its phone number was deleted), or removing it
            # now would break a guard rail (it became the last method of a 2SV account).
            removal.status, removal.resolved_at, removal.resolved_by = RemovalStatus.CANCELLED, now, refusal
            removal.save(update_fields=["status", "resolved_at", "resolved_by"])
            if method is not None:
                _record_removal_event(
                    "account:method:removal_cancelled", removal, request=request, extra={"reason": refusal}
                )
            return False
        assert method is not None
        if method.authenticator_id is not None:
            Authenticator.objects.filter(pk=method.authenticator_id, user=user).delete()
        else:
            method.delete()
        removal.status, removal.resolved_at, removal.resolved_by = status, now, how
        removal.save(update_fields=["status", "resolved_at", "resolved_by"])
        record_event(
            "account:method:remove",
            user=user,
            request=request,
            method=removal.kind,
            details={"kind": removal.kind, "name": removal.name, "removal": str(removal.public_id)},
            quiet=True,  # the alert of the confirmation or of the end of the wait says it
        )
        code = (
            "account:method:removal_confirmed"
            if status == RemovalStatus.CONFIRMED
            else "account:method:removal_applied"
        )
        _record_removal_event(code, removal, request=request, extra={"how": how})
    return True


def _record_removal_event(
    code: str, removal: ScheduledRemoval, *, request: HttpRequest | None, extra: dict[str, Any]
) -> None:
    record_event(
        code,
        user=removal.user,
        request=request,
        method=removal.kind,
        details={
            "kind": removal.kind,
            "name": removal.name,
            "removal": str(removal.public_id),
            "requested_at": removal.requested_at.isoformat(),
            "wait_days": wait_days(),
            **extra,
        },
    )


def apply_due_removals() -> int:
    """Remove every method whose wait has ended; returns how many went.

    Idempotent: each removal is taken again under a row lock and must still be waiting, so
    a second run (or one beside this one) skips what is done, and a run killed halfway
    leaves each removal either waiting or done.
    """
    due = ScheduledRemoval.objects.filter(status=RemovalStatus.PENDING, effective_at__lte=timezone.now())
    pks = list(due.order_by("effective_at", "pk").values_list("pk", flat=True))
    return sum(_apply_removal(pk=pk, request=None, status=RemovalStatus.APPLIED, how="waited") for pk in pks)


def send_removal_confirmation_code(
    *, user: Any, request: HttpRequest | None, removal: ScheduledRemoval, method: SignInMethod
) -> None:
    """Text a code that confirms ``removal`` to one of the older phones."""
    if method.user_id != user.pk or method.created_at >= window_start(removal.requested_at):
        raise Refused(_("That way of confirming is not available."), code="not_found")
    send_text_message_code(
        user=user, request=request, method=method, purpose=VerificationPurpose.CONFIRM_CHANGE
    )


def confirm_removal(
    *,
    user: Any,
    request: HttpRequest,
    removal: ScheduledRemoval,
    option: SecondStepOption,
    code: str = "",
    credential: Any = None,
) -> None:
    """Prove one of the older methods: the waiting removal happens now.

    SECURITY: the same growing delay as the second step at sign-in counts wrong answers
    here, so this page is no way round its limit on guessing codes. Only methods and
    recovery codes from before the window count: one added within it proves nothing.
    """
    if removal.user_id != user.pk or not removal.pending:
        raise Refused(_("This change is no longer waiting."), code="not_pending")
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
    proved = _prove_older_method(
        request=request,
        user=user,
        option=option,
        before=window_start(removal.requested_at),
        code=code,
        credential=credential,
    )
    if not proved:
        record_event(
            "account:reauth:failure",
            user=user,
            request=request,
            method=option.kind,
            result=Result.FAILURE,
            details={"removal": str(removal.public_id)},
        )
        if option.kind == MethodKind.PASSKEY:
            raise Refused(_("That passkey didn't work. Try again, or choose another way."), code="wrong_code")
        raise Refused(_("That code didn't work. Check it and try again."), code="wrong_code")
    throttle.clear_second_step_failures(user)
    if not _apply_removal(pk=removal.pk, request=request, status=RemovalStatus.CONFIRMED, how=proved):
        raise Refused(
            _("The method could not be removed now. Open Security info to see why."), code="not_applied"
        )


def _prove_older_method(
    *,
    request: HttpRequest,
    user: Any,
    option: SecondStepOption,
    before: datetime,
    code: str,
    credential: Any,
) -> str:
    """The kind of older method the answer proved, or "" if it proved none."""
    if option.kind == "recovery_code":
        spent = use_recovery_code(user=user, request=request, code=code, created_before=before, quiet=True)
        return "recovery_code" if spent is not None else ""
    if option.kind == MethodKind.PASSKEY:
        authenticator = check_passkey_step(request=request, user=user, credential=credential)
        if authenticator is None:
            return ""
        old = SignInMethod.objects.filter(authenticator=authenticator, created_at__lt=before).exists()
        return str(MethodKind.PASSKEY) if old else ""
    method = option.method
    if method is None or method.user_id != user.pk or method.created_at >= before:
        return ""
    if option.kind == MethodKind.TEXT_MESSAGE:
        ok = check_text_message_code(
            request=request, user=user, method=method, code=code, purpose=VerificationPurpose.CONFIRM_CHANGE
        )
        return str(MethodKind.TEXT_MESSAGE) if ok else ""
    if option.kind == MethodKind.AUTHENTICATOR_APP:
        form = AuthenticateForm(user=user, data={"code": code})
        if form.is_valid():
            form.save()
            return str(MethodKind.AUTHENTICATOR_APP)
    return ""


def cancel_removal(*, user: Any, request: HttpRequest | None, removal: ScheduledRemoval) -> bool:
    """Keep the method: the signed-in person cancels a waiting removal from Security info.

    No recent sign-in is needed: cancelling only keeps a way in the account already has.
    """
    if removal.user_id != user.pk:
        return False
    return _cancel(pk=removal.pk, request=request, how="security_info", extra={})


def _cancel(*, pk: int, request: HttpRequest | None, how: str, extra: dict[str, Any]) -> bool:
    with transaction.atomic():
        removal = _lock_removal(pk)
        if removal is None:
            return False
        removal.status, removal.resolved_at, removal.resolved_by = (
            RemovalStatus.CANCELLED,
            timezone.now(),
            how,
        )
        removal.save(update_fields=["status", "resolved_at", "resolved_by"])
        _record_removal_event(
            "account:method:removal_cancelled", removal, request=request, extra={"how": how, **extra}
        )
    return True


@dataclass(frozen=True)
class CancelledByLink:
    cancelled: int
    sessions_ended: int = 0


def cancel_removals_by_link(
    *, token: str, request: HttpRequest | None, sign_out_everywhere: bool
) -> CancelledByLink:
    """The owner's emergency brake from the mailed or texted link: no sign-in needed.

    Every waiting removal of the link's account is cancelled, not only the one it named:
    whoever replaces every method schedules one removal per older method. With
    ``sign_out_everywhere`` (offered ticked, for "This wasn't me") every session of the
    account ends and every trusted device is asked for the second step again.
    SECURITY: possessing the link (sent only to the older addresses) is the proof. It
    cannot remove or add anything, only keep what the account had, and it stops working
    once nothing of its account is waiting any more.
    """
    removal = removal_by_token(token)
    if removal is None or not removal.pending:
        return CancelledByLink(cancelled=0)
    user = removal.user
    ended = 0
    if sign_out_everywhere:
        with transaction.atomic():
            ended = end_sessions(user=user, keep=session_key_of(request))
            revoke_trust(user=user, request=request, reason=TrustReason.BY_PERSON)
    extra: dict[str, Any] = {"signed_out": True, "sessions_ended": ended} if sign_out_everywhere else {}
    cancelled = sum(
        _cancel(pk=pk, request=request, how="link", extra=extra)
        for pk in list(pending_removals(user).values_list("pk", flat=True))
    )
    return CancelledByLink(cancelled=cancelled, sessions_ended=ended)
