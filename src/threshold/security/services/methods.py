"""Adding, renaming and removing sign-in methods, and choosing the default.

allauth.mfa writes its own ``Authenticator`` rows (authenticator apps, passkeys) through
its pages; the ``note_*`` functions here are what its signals hand off to, so those
changes are recorded and announced the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from threshold.accounts.models import PhoneNumber
from threshold.activity.services import record_event
from threshold.core.errors import Refused
from threshold.devices.selectors import session_key_of
from threshold.devices.services import end_sessions
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import totp, webauthn
from threshold.security.models import MethodKind, ScheduledRemoval, SignInMethod
from threshold.security.selectors.methods import masked_number
from threshold.security.selectors.removal_wait import removal_must_wait, wait_days
from threshold.security.services.guard_rails import removal_decision, settings_for_update
from threshold.security.services.removal_wait import removal_waits, schedule_removal, vouched_by
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


def can_remove_authenticator(authenticator: Authenticator, *, request: HttpRequest | None = None) -> bool:
    """allauth's "may this authenticator be deleted?" (its own deactivate pages ask it)."""
    method = SignInMethod.objects.filter(authenticator=authenticator).first()
    if method is None:
        return True
    if removal_waits(user=authenticator.user, request=request, method=method):
        # SECURITY: allauth's pages delete at once; a removal that must wait goes through
        # Security info instead, or the wait could be skipped by using their address.
        return False
    return removal_decision(user=authenticator.user, method=method).allowed


def ensure_phone_removable(
    *, user: Any, phone: PhoneNumber, request: HttpRequest | None = None
) -> SignInMethod | None:
    """For Your info: a phone that is the last method of a 2SV account must stay.

    Returns the sign-in method that goes with the phone, if any. Call it inside the
    transaction that removes the phone: it locks the person's security settings, so
    turning on 2SV or removing another method at the same moment waits for the answer.
    """
    settings_for_update(user)
    method = SignInMethod.objects.filter(phone=phone).first()
    if method is None:
        return None
    decision = removal_decision(user=user, method=method)
    if not decision.allowed:
        message = decision.message
        if decision.reason_code == "last_method":
            message = _(
                "This phone number is your only sign-in method, and two-step verification needs one. "
                "Add another method on Security info first, or turn off two-step verification."
            )
        raise Refused(message, code=decision.reason_code)
    if removal_waits(user=user, request=request, method=method):
        # SECURITY: deleting the number would take its text-message method with it at once,
        # skipping the wait; the method's removal is asked for on Security info, and the
        # number can go once that removal has happened.
        raise Refused(
            _(
                "This phone number receives sign-in codes, and it is the last of your older sign-in methods. "
                "Remove its text-message method on Security info first: that waits %(days)d days unless you "
                "confirm it with this phone or another older method."
            )
            % {"days": wait_days()},
            code="removal_waits",
        )
    return method


def note_phone_removed(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> None:
    """Your info removed a phone that received sign-in codes; its method went with it.

    Recorded for the activity log without an alert of its own: the phone's removal alert
    says the number no longer receives sign-in codes.
    """
    record_event(
        "account:method:remove",
        user=user,
        request=request,
        method=method.kind,
        details={"kind": method.kind, "name": method.name, "with_phone": True},
        quiet=True,
    )


def check_may_add_method(*, user: Any, request: HttpRequest | None, kind: str = "") -> None:
    """Policy (for this kind of method too) and fresh sign-in, before allauth's set-up pages save anything."""
    policies.require(user, Action.METHOD_ADD, request=request)
    if kind:
        policies.require(user, policies.method_add_action(kind), request=request)
    ensure_fresh_sign_in(request=request, user=user)


def _after_method_added(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> None:
    settings_row = settings_for_update(user)
    if settings_row.default_method_id is None:
        settings_row.default_method = method
        settings_row.save(update_fields=["default_method"])
    record_event(
        "account:method:add",
        user=user,
        request=request,
        method=method.kind,
        details={"kind": method.kind, "name": method.name, "method": str(method.public_id)},
    )


def add_text_message_method(
    *, user: Any, request: HttpRequest | None, phone: PhoneNumber, name: str = ""
) -> SignInMethod:
    """Use one of the account's verified phone numbers for sign-in codes by text message."""
    check_may_add_method(user=user, request=request, kind=MethodKind.TEXT_MESSAGE)
    if phone.user_id != user.pk or not phone.verified:
        raise Refused(
            _(
                "Only a verified phone number of your account can receive sign-in codes. Verify it in Your info first."
            ),
            code="phone_not_verified",
        )
    with transaction.atomic():
        if SignInMethod.objects.filter(phone=phone).exists():
            raise Refused(_("This phone number already receives sign-in codes."), code="duplicate")
        method = SignInMethod.objects.create(
            user=user,
            kind=MethodKind.TEXT_MESSAGE,
            name=name.strip() or masked_number(phone.number),
            phone=phone,
        )
        _after_method_added(user=user, request=request, method=method)
    return method


def note_authenticator_added(*, request: HttpRequest | None, user: Any, authenticator: Authenticator) -> None:
    """allauth.mfa saved an authenticator app or a passkey: record it as a sign-in method."""
    if authenticator.type == Authenticator.Type.TOTP:
        kind = MethodKind.AUTHENTICATOR_APP
        name = totp.take_name(getattr(request, "session", None)) or _("Authenticator app")
    elif authenticator.type == Authenticator.Type.WEBAUTHN:
        kind, name = MethodKind.PASSKEY, str(authenticator)
    else:
        return  # allauth's recovery codes are not used; ours are in RecoveryCode
    extra: dict[str, Any] = {}
    if kind == MethodKind.PASSKEY:
        chose = webauthn.take_choice(getattr(request, "session", None))
        extra["passwordless"], extra["sign_count"] = webauthn.registration_facts(
            authenticator, chose_passwordless=chose
        )
    with transaction.atomic():
        method, created = SignInMethod.objects.get_or_create(
            authenticator=authenticator, defaults={"user": user, "kind": kind, "name": name[:80], **extra}
        )
        if created:
            _after_method_added(user=user, request=request, method=method)


def note_authenticator_removed(
    *, request: HttpRequest | None, user: Any, authenticator: Authenticator
) -> None:
    """allauth.mfa deleted an authenticator through its own pages: record and announce it."""
    if authenticator.type == Authenticator.Type.TOTP:
        kind, name = MethodKind.AUTHENTICATOR_APP, _("Authenticator app")
    elif authenticator.type == Authenticator.Type.WEBAUTHN:
        kind, name = MethodKind.PASSKEY, str(authenticator)
    else:
        return
    with transaction.atomic():
        record_event(
            "account:method:remove",
            user=user,
            request=request,
            method=kind,
            details={"kind": kind, "name": name},
        )


def rename_sign_in_method(*, user: Any, request: HttpRequest | None, method: SignInMethod, name: str) -> None:
    """Give a method the name the person knows it by (a passkey keeps it in allauth's record too)."""
    policies.require(user, Action.METHOD_RENAME, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    name = " ".join(name.split())[:80]
    if not name:
        raise Refused(_("Enter a name."), code="required")
    with transaction.atomic():
        locked = SignInMethod.objects.select_for_update().filter(pk=method.pk, user=user).first()
        if locked is None:
            raise Refused(_("That sign-in method is not yours."), code="not_found")
        before = locked.name
        if before == name:
            return
        locked.name = name
        locked.save(update_fields=["name"])
        if locked.authenticator is not None and locked.authenticator.type == Authenticator.Type.WEBAUTHN:
            wrapped = locked.authenticator.wrap()
            wrapped.name = name
            locked.authenticator.save(update_fields=["data"])
        method.name = name
        record_event(
            "account:method:rename",
            user=user,
            request=request,
            method=locked.kind,
            details={"kind": locked.kind, "from": before, "to": name, "name": name},
        )


@dataclass(frozen=True)
class MethodRemoval:
    """What ``remove_sign_in_method`` did: removed the method, or scheduled its removal."""

    sessions_ended: int = 0
    scheduled: ScheduledRemoval | None = None


def remove_sign_in_method(
    *, user: Any, request: HttpRequest | None, method: SignInMethod, sign_out_others: bool
) -> MethodRemoval:
    """Remove a method (and its allauth authenticator), or schedule it if it must wait.

    SECURITY: removing the last of the methods the account had before the window
    (``SECURITY_INFO_WINDOW_DAYS``) is how someone who got in would replace every way in
    and keep the owner out, so it waits ``SECURITY_INFO_WAIT_DAYS`` and the older addresses
    are told with a link to cancel (``schedule_removal``), unless this session proved an
    older method or came from a vouched-for reset. Removing one older method while another
    stays, or a method added within the window, is never slowed.

    An account whose methods were all added within the window has no older method, so its
    removals happen at once. Accepted on purpose: a new account's methods are still being
    set up, tried and dropped; there is no established way in yet to protect from being
    replaced; and every addition and removal is still announced to every verified address
    at once. The gap is an intruder within the first days of the owner's first method.
    """
    policies.require(user, Action.METHOD_REMOVE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    ended = 0
    with transaction.atomic():
        settings_for_update(user)
        decision = removal_decision(user=user, method=method)
        if not decision.allowed:
            raise Refused(decision.message, code=decision.reason_code)
        without_wait = ""
        if removal_must_wait(user, [method]):
            without_wait = vouched_by(request=request, user=user)
            if not without_wait:
                scheduled = schedule_removal(user=user, request=request, method=method)
                if sign_out_others:
                    ended = end_sessions(user=user, keep=session_key_of(request))
                return MethodRemoval(sessions_ended=ended, scheduled=scheduled)
        kind, name = method.kind, method.name
        if method.authenticator_id is not None:
            # Deleting allauth's row is what its own deactivate page does; our method row
            # goes with it (CASCADE).
            Authenticator.objects.filter(pk=method.authenticator_id, user=user).delete()
        else:
            method.delete()
        if sign_out_others:
            ended = end_sessions(user=user, keep=session_key_of(request))
        record_event(
            "account:method:remove",
            user=user,
            request=request,
            method=kind,
            details={"kind": kind, "name": name, "sessions_ended": ended, "without_wait": without_wait},
        )
    return MethodRemoval(sessions_ended=ended)


def set_default_method(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> None:
    """The method offered first when sign-in asks for a second step."""
    if method.user_id != user.pk:
        raise Refused(_("That sign-in method is not yours."), code="not_found")
    with transaction.atomic():
        settings_row = settings_for_update(user)
        if settings_row.default_method_id == method.pk:
            return
        settings_row.default_method = method
        settings_row.save(update_fields=["default_method"])
        record_event(
            "account:method:default",
            user=user,
            request=request,
            method=method.kind,
            details={"kind": method.kind, "name": method.name},
        )
