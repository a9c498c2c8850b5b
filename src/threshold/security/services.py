"""The only writers of sign-in security: methods, two-step verification, recovery codes, trust.

Each service asks ``orgs.policies`` first, needs a recent sign-in where issue 3 §4 says so,
changes inside ``transaction.atomic()`` and records the event; ``record_event`` queues the
alert for the catalogue's ``notify_user`` types, to go out once the change commits.
allauth.mfa writes its own ``Authenticator`` rows (authenticator apps, passkeys) through
its pages; the ``note_*`` functions here are what its signals hand off to, so those
changes are recorded and announced the same way.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.hashers import is_password_usable
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.accounts import codes as phone_codes
from threshold.accounts.models import PhoneNumber, VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.core.decisions import Decision
from threshold.core.errors import FreshSignInRequired
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import codes, selectors, throttle, totp, trust, webauthn
from threshold.security.models import (
    MethodKind,
    RecoveryCode,
    RemovalStatus,
    ScheduledRemoval,
    SecuritySettings,
    SignInMethod,
    TrustedDevice,
    TrustReason,
)

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The change was not made; ``message`` tells the person why and what to do."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Fresh sign-in ----------------------------------------------------------------------


def ensure_fresh_sign_in(*, request: HttpRequest | None, user: Any) -> None:
    """Raise ``FreshSignInRequired`` unless this session signed in within the last 10 minutes.

    SECURITY: a session left open on a shared computer, or a stolen session cookie, must
    not be enough to change how the account is protected. The check lives here, in the
    services, so every way in (page, API, admin) needs the same recent proof; any sign-in
    method counts, as does a re-sign-in at /accounts/reauthenticate/.
    """
    if request is None or not selectors.signed_in_recently(request, user):
        minutes = selectors.fresh_sign_in_seconds() // 60
        raise FreshSignInRequired(
            ngettext(
                "For your security, sign in again to make this change: it needs a sign-in from the last minute.",
                "For your security, sign in again to make this change: it needs a sign-in from the last %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )


def reauthentication_required(request: HttpRequest | None) -> bool:
    """allauth's question "must this person sign in again first?", answered by our rule."""
    if request is None or not request.user.is_authenticated:
        return True
    return not selectors.signed_in_recently(request, request.user)


# --- Guard rails ------------------------------------------------------------------------------


def _settings_for_update(user: Any) -> SecuritySettings:
    """The person's settings row, locked, so concurrent changes to methods queue up."""
    SecuritySettings.objects.get_or_create(user=user)
    return SecuritySettings.objects.select_for_update().get(user=user)


def removal_decision(*, user: Any, method: SignInMethod) -> Decision:
    """Whether ``method`` may be removed now, and if not, why and what to do instead."""
    decision = policies.evaluate(user, Action.METHOD_REMOVE)
    if not decision.allowed:
        return decision
    others = selectors.second_step_methods(user).exclude(pk=method.pk).exists()
    if selectors.two_step_enabled(user) and method.kind in selectors.SECOND_STEP_KINDS and not others:
        return Decision.deny(
            "last_method",
            _(
                "This is your only sign-in method, and two-step verification needs one. "
                "Add another method first, or turn off two-step verification."
            ),
        )
    if method.is_passkey and not selectors.sign_in_methods_of_kind(user, MethodKind.PASSKEY).exclude(
        pk=method.pk
    ):
        decision = policies.evaluate(user, Action.LAST_PASSKEY_REMOVE)
        if not decision.allowed:
            return decision
    if (
        method.is_passkey
        and method.passwordless
        and not _has_password(user)
        and not selectors.passwordless_passkeys(user).exclude(pk=method.pk).exists()
    ):
        # SECURITY: without a password, this passkey is the only way in short of an email
        # reset; removing it by mistake (or by someone at an unlocked computer) would
        # leave the person out of their own account.
        return Decision.deny(
            "last_passkey",
            _(
                "This is the only passkey you sign in with, and your account has no password. "
                "Set a password or add another passkey first."
            ),
        )
    return Decision.allow()


def _has_password(user: Any) -> bool:
    """Read from the database, not the request's copy: another request may have just changed it."""
    stored = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).first()
    return bool(stored) and is_password_usable(stored)


def can_remove_authenticator(authenticator: Authenticator, *, request: HttpRequest | None = None) -> bool:
    """allauth's "may this authenticator be deleted?" (its own deactivate pages ask it)."""
    method = SignInMethod.objects.filter(authenticator=authenticator).first()
    if method is None:
        return True
    if _removal_waits(user=authenticator.user, request=request, methods=[method]):
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
    _settings_for_update(user)
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
    if _removal_waits(user=user, request=request, methods=[method]):
        # SECURITY: deleting the number would take its text-message method with it at once,
        # skipping the wait; the method's removal is asked for on Security info, and the
        # number can go once that removal has happened.
        raise Refused(
            _(
                "This phone number receives sign-in codes, and it is the last of your older sign-in methods. "
                "Remove its text-message method on Security info first: that waits %(days)d days unless you "
                "confirm it with this phone or another older method."
            )
            % {"days": selectors.wait_days()},
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


# --- Sessions ----------------------------------------------------------------------------------


def _end_other_sessions(*, user: Any, request: HttpRequest | None) -> int:
    current = request.session.session_key if request is not None and hasattr(request, "session") else None
    ended = 0
    for session in UserSession.objects.filter(user=user).exclude(session_key=current or ""):
        # A row whose session is already gone (the key this request had before a password
        # change rotated it) is cleaned up without counting it as a signed-out device.
        alive = session.exists()
        session.end()
        ended += int(alive)
    return ended


# --- Adding methods ---------------------------------------------------------------------------


def check_may_add_method(*, user: Any, request: HttpRequest | None, kind: str = "") -> None:
    """Policy (for this kind of method too) and fresh sign-in, before allauth's set-up pages save anything."""
    policies.require(user, Action.METHOD_ADD, request=request)
    if kind:
        policies.require(user, policies.method_add_action(kind), request=request)
    ensure_fresh_sign_in(request=request, user=user)


def _after_method_added(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> None:
    settings_row = _settings_for_update(user)
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
            name=name.strip() or selectors.masked_number(phone.number),
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


def note_authenticator_used(*, authenticator: Authenticator) -> None:
    SignInMethod.objects.filter(authenticator=authenticator).update(last_used_at=timezone.now())


def check_passkey_counter(*, request: HttpRequest | None, authenticator: Authenticator, counter: int) -> None:
    """Accept a passkey's signature counter only if it moved forward; keep the new value.

    SECURITY: an authenticator with a counter adds one for every signature. A value at or
    below the last one seen means two copies of the same key exist (a cloned security
    key) or an old answer is replayed, so the sign-in is refused and recorded. Passkeys
    that keep no counter (most synced ones) always report zero, and stay accepted. The
    conditional UPDATE makes two simultaneous uses of one value yield one success.
    """
    method = SignInMethod.objects.filter(authenticator=authenticator).first()
    if method is None:
        return
    if counter == 0 and method.sign_count == 0:
        return
    if SignInMethod.objects.filter(pk=method.pk, sign_count__lt=counter).update(sign_count=counter):
        return
    record_event(
        "account:passkey:counter_backwards",
        user=method.user,
        request=request,
        method=MethodKind.PASSKEY,
        result=Result.BLOCKED,
        details={
            "name": method.name,
            "method": str(method.public_id),
            "seen": method.sign_count,
            "sent": counter,
        },
    )
    raise Refused(
        _(
            "This passkey was refused: its signature counter went backwards, which can mean it was copied. "
            "Sign in another way, then check your passkeys on Security info."
        ),
        code="sign_count",
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


# --- A passwordless account ------------------------------------------------------------------


def password_removal_decision(*, user: Any) -> Decision:
    """Whether the person may remove their password now, and if not, why."""
    decision = policies.evaluate(user, Action.PASSWORD_REMOVE)
    if not decision.allowed:
        return decision
    if not _has_password(user):
        return Decision.deny("no_password", _("Your account has no password."))
    if not selectors.passwordless_passkeys(user).exists():
        return Decision.deny(
            "no_passkey",
            _("Add a passkey that signs you in on its own first: without a password, it is how you sign in."),
        )
    return Decision.allow()


def remove_password(*, user: Any, request: HttpRequest | None) -> int:
    """Make the account passwordless; returns how many other sessions were signed out.

    As with a password change, every other session is signed out and trusted devices are
    forgotten: whoever knew the old password must not keep a way in.

    SECURITY: not a replacement that waits. It removes no second-step method, so the owner's
    older methods still stand between anyone and the account; and a password, unlike those
    methods, comes back by a reset through the owner's email address. Changing the password
    (which also does not wait) already gives whoever got in the same reach.
    """
    policies.require(user, Action.PASSWORD_REMOVE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        # The same lock as removing a method: the last passkey cannot go at the same moment.
        _settings_for_update(user)
        decision = password_removal_decision(user=user)
        if not decision.allowed:
            raise Refused(decision.message, code=decision.reason_code)
        user.set_unusable_password()
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        if request is not None and hasattr(request, "session"):
            # The session is bound to the password's hash; this one stays signed in.
            update_session_auth_hash(request, user)
        ended = _end_other_sessions(user=user, request=request)
        forgotten = _revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        record_event(
            "account:password:remove",
            user=user,
            request=request,
            details={"sessions_ended": ended, "trusted_devices_forgotten": forgotten},
        )
    return ended


# --- Removing methods and choosing the default ---------------------------------------------


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
    are told with a link to cancel (``_schedule_removal``), unless this session proved an
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
        _settings_for_update(user)
        decision = removal_decision(user=user, method=method)
        if not decision.allowed:
            raise Refused(decision.message, code=decision.reason_code)
        without_wait = ""
        if selectors.removal_must_wait(user, [method]):
            without_wait = _vouched_by(request=request, user=user)
            if not without_wait:
                scheduled = _schedule_removal(user=user, request=request, method=method)
                if sign_out_others:
                    ended = _end_other_sessions(user=user, request=request)
                return MethodRemoval(sessions_ended=ended, scheduled=scheduled)
        kind, name = method.kind, method.name
        if method.authenticator_id is not None:
            # Deleting allauth's row is what its own deactivate page does; our method row
            # goes with it (CASCADE).
            Authenticator.objects.filter(pk=method.authenticator_id, user=user).delete()
        else:
            method.delete()
        if sign_out_others:
            ended = _end_other_sessions(user=user, request=request)
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
        settings_row = _settings_for_update(user)
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


# --- Two-step verification ----------------------------------------------------------------


def enable_two_step(*, user: Any, request: HttpRequest | None) -> list[str]:
    """Turn on two-step verification; returns a new set of recovery codes if there was none."""
    policies.require(user, Action.TWO_STEP_ENABLE, request=request)
    if not selectors.second_step_methods(user).exists():
        raise Refused(
            _("Add a sign-in method first, such as an authenticator app: two-step verification needs one."),
            code="no_method",
        )
    new_codes: list[str] = []
    with transaction.atomic():
        settings_row = _settings_for_update(user)
        if settings_row.two_step_enabled:
            return []
        settings_row.two_step_enabled = True
        settings_row.two_step_changed_at = timezone.now()
        settings_row.save(update_fields=["two_step_enabled", "two_step_changed_at"])
        # SECURITY: trust given before 2SV was last turned off must not carry over.
        _revoke_trust(user=user, request=request, reason=TrustReason.TWO_STEP_CHANGED)
        if selectors.recovery_codes_left(user) == 0:
            new_codes = _replace_recovery_codes(user)
            record_event(
                "account:recovery_codes:generate",
                user=user,
                request=request,
                details={"count": len(new_codes), "reason": "two_step_enabled"},
                quiet=True,  # the 2SV alert below says the codes were made
            )
        record_event(
            "account:2sv:enable", user=user, request=request, details={"recovery_codes_made": len(new_codes)}
        )
    return new_codes


def disable_two_step(*, user: Any, request: HttpRequest | None) -> None:
    """Turn off two-step verification (an organisation may forbid it).

    SECURITY: not a replacement of the older methods, so it never waits: it removes no way
    in (every method and recovery code stays, and the owner's password still signs in), the
    owner can turn it back on, and it is announced at once. Removing the older methods
    afterwards is what would lock the owner out, and that waits whatever the switch says.
    """
    policies.require(user, Action.TWO_STEP_DISABLE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        settings_row = _settings_for_update(user)
        if not settings_row.two_step_enabled:
            return
        settings_row.two_step_enabled = False
        settings_row.two_step_changed_at = timezone.now()
        settings_row.save(update_fields=["two_step_enabled", "two_step_changed_at"])
        _revoke_trust(user=user, request=request, reason=TrustReason.TWO_STEP_CHANGED)
        record_event("account:2sv:disable", user=user, request=request)


# --- Recovery codes --------------------------------------------------------------------------


def _replace_recovery_codes(user: Any) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    plain = [codes.new_recovery_code() for _ in range(codes.RECOVERY_CODE_COUNT)]
    rows = []
    for code in plain:
        salt = codes.new_salt()
        rows.append(
            RecoveryCode(
                user=user,
                salt=salt,
                code_hash=codes.hash_recovery_code(codes.normalize_recovery_code(code), salt),
            )
        )
    RecoveryCode.objects.bulk_create(rows)
    return plain


def generate_recovery_codes(*, user: Any, request: HttpRequest | None) -> list[str]:
    """A new set of ten codes, returned once in plain text; the old set stops working."""
    policies.require(user, Action.RECOVERY_CODES_GENERATE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        _settings_for_update(user)
        plain = _replace_recovery_codes(user)
        record_event(
            "account:recovery_codes:generate", user=user, request=request, details={"count": len(plain)}
        )
    return plain


def use_recovery_code(
    *,
    user: Any,
    request: HttpRequest | None,
    code: str,
    created_before: datetime | None = None,
    quiet: bool = False,
) -> RecoveryCode | None:
    """Spend one recovery code; the spent code only for the one caller that spent it.

    ``created_before`` accepts only a code made before then (confirming a waiting removal
    takes an older code); ``quiet`` leaves the alert to the change the code confirmed.
    SECURITY: the code is spent with a conditional UPDATE (``used_at IS NULL``), so when
    the same code arrives many times at once exactly one request gets in.
    """
    normalized = codes.normalize_recovery_code(code)
    if not normalized:
        return None
    rows = RecoveryCode.objects.filter(user=user, used_at__isnull=True)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    match = None
    for row in rows.only("pk", "salt", "code_hash", "created_at"):
        if codes.recovery_code_matches(normalized, row.salt, row.code_hash):
            match = row
    if match is None:
        return None
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=timezone.now())
        if spent != 1:
            return None
        left = selectors.recovery_codes_left(user)
        record_event(
            "account:recovery_codes:use",
            user=user,
            request=request,
            method="recovery_code",
            details={"left": left},
            quiet=quiet,
        )
    return match


# --- Text message codes ------------------------------------------------------------------------


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
            details={"number": selectors.masked_number(number)},
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
                details={"number": selectors.masked_number(number), "purpose": str(purpose)},
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


def _check_text_message_code(
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


# --- The second step at sign-in -----------------------------------------------------------


def second_step_needed(*, request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in must ask for a second method (called by the login stage)."""
    if policies.unfamiliar_sign_in_needs_second_step(request=request, user=user):
        return True  # the organisation asks for one on an unfamiliar sign-in, trusted device or not
    if not selectors.two_step_required(user):
        return False
    if selectors.sign_in_proven_by(request) in selectors.VOUCHED_RESETS:
        # The pass, or the completed account recovery (both codes and the wait, or an
        # operator's approval), is the proof: the other methods are what was lost.
        return False
    if selectors.used_passwordless_passkey(request, user):
        return False  # a passkey is already something you have and something you are
    device = selectors.trusted_device_for(request, user)
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
    option: selectors.SecondStepOption,
    code: str = "",
    credential: Any = None,
) -> None:
    """Check the code (or the passkey's answer) for the chosen way; raise ``Refused`` with what to do if it is wrong."""
    wait = throttle.begin_second_step(user)
    if wait:
        record_event(
            "account:signin:second_step:throttled",
            user=user,
            request=request,
            method=option.kind,
            result=Result.BLOCKED,
            details={"retry_after": wait},
        )
        raise Refused(
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second and try again.",
                "Too many wrong codes. Wait %(seconds)d seconds and try again.",
                wait,
            )
            % {"seconds": wait},
            code="throttled",
        )
    refusal = _("That code didn't work. Check it and try again.")
    used: SignInMethod | RecoveryCode | None = None
    if option.kind == "recovery_code":
        used = use_recovery_code(user=user, request=request, code=code)
        ok = used is not None
    elif option.kind == MethodKind.PASSKEY:
        refusal = _("That passkey didn't work. Try again, or choose another way to sign in.")
        authenticator = _check_passkey_step(request=request, user=user, credential=credential)
        ok = authenticator is not None
        used = SignInMethod.objects.filter(authenticator=authenticator).first() if ok else None
    elif option.kind == MethodKind.TEXT_MESSAGE and option.method is not None:
        ok = _check_text_message_code(request=request, user=user, method=option.method, code=code)
        if ok:
            used = option.method
            SignInMethod.objects.filter(pk=option.method.pk).update(last_used_at=timezone.now())
    elif option.kind == MethodKind.AUTHENTICATOR_APP:
        # allauth's public form checks the code against the account's authenticator app
        # and refuses a code already used in its time window (recorded in the shared
        # cache, so across processes); saving it records the authentication.
        form = AuthenticateForm(user=user, data={"code": code})
        ok = form.is_valid()
        if ok:
            form.save()
            used = option.method
    else:
        ok = False
    if not ok:
        record_event(
            "account:signin:second_step:failure",
            user=user,
            request=request,
            method=option.kind,
            result=Result.FAILURE,
        )
        raise Refused(refusal, code="wrong_code")
    throttle.clear_second_step_failures(user)
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
    """Keep in the session what the second step was done with, for ``selectors.proved_older_method``."""
    if not hasattr(request, "session"):
        return
    request.session[selectors.SECOND_STEP_SESSION_KEY] = {
        "user": str(user.pk),
        "at": time.time(),
        "method": str(used.public_id) if isinstance(used, SignInMethod) else "",
        "recovery_code": used.pk if isinstance(used, RecoveryCode) else None,
    }


def _check_passkey_step(*, request: HttpRequest, user: Any, credential: Any) -> Authenticator | None:
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


# --- Trusted devices ---------------------------------------------------------------------------


def trust_this_device(*, request: HttpRequest, user: Any) -> tuple[TrustedDevice, str]:
    """Remember this browser for 30 days; returns the row and the token for its cookie."""
    policies.require(user, Action.DEVICE_TRUST, request=request)
    ctx = context_of(request)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        device = TrustedDevice.objects.create(
            user=user,
            token_hash=trust.token_hash(token),
            expires_at=timezone.now() + timedelta(days=trust.TRUST_DAYS),
            device_label=ctx.device.label if ctx.user_agent else "",
            browser=ctx.device.browser[:64],
            os=ctx.device.os[:64],
            ip=ctx.ip or None,
            country=ctx.country,
            session_key=(request.session.session_key or "") if hasattr(request, "session") else "",
        )
        record_event(
            "account:device:trust",
            user=user,
            request=request,
            details={"device": str(device.public_id), "days": trust.TRUST_DAYS},
        )
    return device, token


def _revoke_trust(*, user: Any, request: HttpRequest | None, reason: TrustReason) -> int:
    revoked = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if revoked:
        record_event(
            "account:device:trust_revoke",
            user=user,
            request=request,
            details={"count": revoked, "reason": str(reason)},
        )
    return revoked


def forget_trusted_devices(*, user: Any, request: HttpRequest | None) -> int:
    """Every device asks for the second step again."""
    with transaction.atomic():
        return _revoke_trust(user=user, request=request, reason=TrustReason.BY_PERSON)


def revoke_trusted_device(*, user: Any, request: HttpRequest | None, device: TrustedDevice) -> bool:
    """One device asks for the second step again (for the Devices page)."""
    if device.user_id != user.pk:
        return False
    with transaction.atomic():
        revoked = TrustedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=TrustReason.BY_PERSON
        )
        if revoked:
            record_event(
                "account:device:trust_revoke",
                user=user,
                request=request,
                details={"count": 1, "reason": str(TrustReason.BY_PERSON), "device": str(device.public_id)},
            )
    return bool(revoked)


# --- Password -------------------------------------------------------------------------------------


def note_password_changed(*, request: HttpRequest | None, user: Any) -> None:
    """After a password change or set: sign out every other session, forget trusted devices, alert."""
    with transaction.atomic():
        ended = _end_other_sessions(user=user, request=request)
        forgotten = _revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        _forget_wrong_passwords(user)
        record_event(
            "account:password:change",
            user=user,
            request=request,
            details={"sessions_ended": ended, "trusted_devices_forgotten": forgotten},
        )


def note_password_reset(*, request: HttpRequest | None, user: Any) -> tuple[int, int]:
    """After a password reset: no session and no trusted device from before survives.

    Returns how many sessions ended and how many trusted devices were forgotten.
    """
    with transaction.atomic():
        ended = _end_other_sessions(user=user, request=None)
        forgotten = _revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        _forget_wrong_passwords(user)
    return ended, forgotten


def _forget_wrong_passwords(user: Any) -> None:
    """A new password: the wrong guesses at the old one no longer count, and a stop of
    password sign-in (accounts.services.note_password_failed) ends."""
    get_user_model().objects.filter(pk=user.pk, failed_sign_ins__gt=0).update(failed_sign_ins=0)
    user.failed_sign_ins = 0


# --- Replacing every sign-in method: the wait --------------------------------------------------


def _vouched_by(*, request: HttpRequest | None, user: Any, before: datetime | None = None) -> str:
    """Why removing the last older method need not wait for this request, or "" if it must.

    SECURITY: a session that proved an older method within the fresh-sign-in window was
    confirmed by that method, which is all the wait asks for. A session from a completed
    account recovery or a Temporary Access Pass already waited, or was vouched for by an
    administrator; another wait would only keep the owner from finishing the repair.
    """
    reset = selectors.vouched_reset(request)
    if reset:
        return reset
    proved = selectors.proved_older_method(request, user, before=before or selectors.window_start())
    return f"sign_in:{proved}" if proved else ""


def _removal_waits(*, user: Any, request: HttpRequest | None, methods: list[SignInMethod]) -> bool:
    return selectors.removal_must_wait(user, methods) and not _vouched_by(request=request, user=user)


def removal_waits(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> bool:
    """Whether removing ``method`` from this request would be scheduled rather than done now."""
    return _removal_waits(user=user, request=request, methods=[method])


def _schedule_removal(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> ScheduledRemoval:
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
        effective_at=now + timedelta(days=selectors.wait_days()),
        cancel_token_hash=selectors.token_digest(token),
    )
    addresses = selectors.older_addresses(user, before=selectors.window_start(now))
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
            "wait_days": selectors.wait_days(),
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
    from threshold.activity.models import SecurityEvent
    from threshold.core.mail import send_templated_mail

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
            "days": selectors.wait_days(),
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
    _settings_for_update(get_user_model()(pk=user_id))
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
            "wait_days": selectors.wait_days(),
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
    if method.user_id != user.pk or method.created_at >= selectors.window_start(removal.requested_at):
        raise Refused(_("That way of confirming is not available."), code="not_found")
    send_text_message_code(
        user=user, request=request, method=method, purpose=VerificationPurpose.CONFIRM_CHANGE
    )


def confirm_removal(
    *,
    user: Any,
    request: HttpRequest,
    removal: ScheduledRemoval,
    option: selectors.SecondStepOption,
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
        before=selectors.window_start(removal.requested_at),
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
    option: selectors.SecondStepOption,
    before: datetime,
    code: str,
    credential: Any,
) -> str:
    """The kind of older method the answer proved, or "" if it proved none."""
    if option.kind == "recovery_code":
        spent = use_recovery_code(user=user, request=request, code=code, created_before=before, quiet=True)
        return "recovery_code" if spent is not None else ""
    if option.kind == MethodKind.PASSKEY:
        authenticator = _check_passkey_step(request=request, user=user, credential=credential)
        if authenticator is None:
            return ""
        old = SignInMethod.objects.filter(authenticator=authenticator, created_at__lt=before).exists()
        return str(MethodKind.PASSKEY) if old else ""
    method = option.method
    if method is None or method.user_id != user.pk or method.created_at >= before:
        return ""
    if option.kind == MethodKind.TEXT_MESSAGE:
        ok = _check_text_message_code(
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
    removal = selectors.removal_by_token(token)
    if removal is None or not removal.pending:
        return CancelledByLink(cancelled=0)
    user = removal.user
    ended = 0
    if sign_out_everywhere:
        with transaction.atomic():
            ended = _end_other_sessions(user=user, request=request)
            _revoke_trust(user=user, request=request, reason=TrustReason.BY_PERSON)
    extra: dict[str, Any] = {"signed_out": True, "sessions_ended": ended} if sign_out_everywhere else {}
    cancelled = sum(
        _cancel(pk=pk, request=request, how="link", extra=extra)
        for pk in list(selectors.pending_removals(user).values_list("pk", flat=True))
    )
    return CancelledByLink(cancelled=cancelled, sessions_ended=ended)
