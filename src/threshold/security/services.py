"""The only writers of sign-in security: methods, two-step verification, recovery codes, trust.

Each service asks ``orgs.policies`` first, needs a recent sign-in where issue 3 §4 says so,
changes inside ``transaction.atomic()`` and records the event; ``record_event`` queues the
alert for the catalogue's ``notify_user`` types, to go out once the change commits.
allauth.mfa writes its own ``Authenticator`` rows (authenticator apps, passkeys) through
its pages; the ``note_*`` functions here are what its signals hand off to, so those
changes are recorded and announced the same way.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.hashers import is_password_usable
from django.db import transaction
from django.http import HttpRequest
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
from threshold.core.sms import SmsDeliveryError, get_sms_gateway
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import codes, selectors, throttle, totp, trust, webauthn
from threshold.security.models import (
    MethodKind,
    RecoveryCode,
    SecuritySettings,
    SignInMethod,
    TrustedDevice,
    TrustReason,
)


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


def can_remove_authenticator(authenticator: Authenticator) -> bool:
    """allauth's "may this authenticator be deleted?" (its own deactivate pages ask it)."""
    method = SignInMethod.objects.filter(authenticator=authenticator).first()
    if method is None:
        return True
    return removal_decision(user=authenticator.user, method=method).allowed


def ensure_phone_removable(*, user: Any, phone: PhoneNumber) -> SignInMethod | None:
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


def check_may_add_method(*, user: Any, request: HttpRequest | None) -> None:
    """Policy and fresh sign-in, before allauth's set-up pages save anything."""
    policies.require(user, Action.METHOD_ADD, request=request)
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
    check_may_add_method(user=user, request=request)
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


def remove_sign_in_method(
    *, user: Any, request: HttpRequest | None, method: SignInMethod, sign_out_others: bool
) -> int:
    """Remove a method (and its allauth authenticator); returns how many other sessions ended."""
    policies.require(user, Action.METHOD_REMOVE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    ended = 0
    with transaction.atomic():
        _settings_for_update(user)
        decision = removal_decision(user=user, method=method)
        if not decision.allowed:
            raise Refused(decision.message, code=decision.reason_code)
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
            details={"kind": kind, "name": name, "sessions_ended": ended},
        )
    return ended


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
    """Turn off two-step verification (an organisation may forbid it)."""
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


def use_recovery_code(*, user: Any, request: HttpRequest | None, code: str) -> bool:
    """Spend one recovery code; True only for the one caller that spent it.

    SECURITY: the code is spent with a conditional UPDATE (``used_at IS NULL``), so when
    the same code arrives many times at once exactly one request gets in.
    """
    normalized = codes.normalize_recovery_code(code)
    if not normalized:
        return False
    match = None
    for row in RecoveryCode.objects.filter(user=user, used_at__isnull=True).only("pk", "salt", "code_hash"):
        if codes.recovery_code_matches(normalized, row.salt, row.code_hash):
            match = row
    if match is None:
        return False
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(pk=match.pk, used_at__isnull=True).update(used_at=timezone.now())
        if spent != 1:
            return False
        left = selectors.recovery_codes_left(user)
        record_event(
            "account:recovery_codes:use",
            user=user,
            request=request,
            method="recovery_code",
            details={"left": left},
        )
    return True


# --- Text message codes ------------------------------------------------------------------------


def send_text_message_code(*, user: Any, request: HttpRequest | None, method: SignInMethod) -> None:
    """Text a sign-in code to the method's phone.

    The codes are threshold.accounts.codes', the same as for verifying a number: 6 digits,
    10 minutes, single use, and the same caps per number, account and client address.
    SECURITY: sending again keeps the count of wrong tries.
    """
    if method.user_id != user.pk or method.kind != MethodKind.TEXT_MESSAGE or method.phone is None:
        raise Refused(_("That way of signing in is not available."), code="not_found")
    number = method.phone.number
    until = phone_codes.stopped_until(
        phone_codes.open_code(user=user, purpose=VerificationPurpose.SIGN_IN, target=number)
    )
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
            code = phone_codes.issue_code(user=user, purpose=VerificationPurpose.SIGN_IN, target=number)
            with translation.override(user.locale):
                body = _(
                    "%(code)s is your Threshold sign-in code. It expires in %(minutes)d minutes. "
                    "Never share it: Threshold will never ask you for it."
                ) % {"code": code, "minutes": settings.PHONE_CODE_TTL // 60}
            record_event(
                "account:signin:code_sent",
                user=user,
                request=request,
                method=MethodKind.TEXT_MESSAGE,
                details={"number": selectors.masked_number(number)},
            )
            get_sms_gateway().send(to=number, body=phone_codes.origin_bound(body, code))
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


def _check_text_message_code(*, user: Any, method: SignInMethod, code: str) -> bool:
    if method.phone is None:
        return False
    check = phone_codes.check_code(
        user=user, purpose=VerificationPurpose.SIGN_IN, target=method.phone.number, code=code
    )
    return check.outcome == phone_codes.Outcome.MATCH


# --- The second step at sign-in -----------------------------------------------------------


# Set by threshold.recovery for the one sign-in that ends an account recovery (its value is
# the account's public id), and removed straight after it.
ACCOUNT_RECOVERY_SIGN_IN = "threshold.account_recovery_sign_in"


def second_step_needed(*, request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in must ask for a second method (called by the login stage)."""
    if not selectors.two_step_required(user):
        return False
    if request.session.get(ACCOUNT_RECOVERY_SIGN_IN) == str(user.public_id):
        # SECURITY: only the recovery's own service sets this, server-side, for the sign-in
        # with the password it has just set; the recovery (both codes and the wait, or an
        # operator's approval) is the proof, and the second-step methods are what was lost.
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
    wait = throttle.second_step_wait(user)
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
    if option.kind == "recovery_code":
        ok = use_recovery_code(user=user, request=request, code=code)
    elif option.kind == MethodKind.PASSKEY:
        refusal = _("That passkey didn't work. Try again, or choose another way to sign in.")
        ok = _check_passkey_step(request=request, user=user, credential=credential)
    elif option.kind == MethodKind.TEXT_MESSAGE and option.method is not None:
        ok = _check_text_message_code(user=user, method=option.method, code=code)
        if ok:
            SignInMethod.objects.filter(pk=option.method.pk).update(last_used_at=timezone.now())
    elif option.kind == MethodKind.AUTHENTICATOR_APP:
        # allauth's public form checks the code against the account's authenticator app
        # and refuses a code already used in its time window (recorded in the shared
        # cache, so across processes); saving it records the authentication.
        form = AuthenticateForm(user=user, data={"code": code})
        ok = form.is_valid()
        if ok:
            form.save()
    else:
        ok = False
    if not ok:
        throttle.record_second_step_failure(user)
        record_event(
            "account:signin:second_step:failure",
            user=user,
            request=request,
            method=option.kind,
            result=Result.FAILURE,
        )
        raise Refused(refusal, code="wrong_code")
    throttle.clear_second_step_failures(user)
    record_event("account:signin:second_step", user=user, request=request, method=option.kind)


def _check_passkey_step(*, request: HttpRequest, user: Any, credential: Any) -> bool:
    answer = webauthn.complete_second_step(request, user, credential)
    if answer is None:
        return False
    authenticator, response = answer
    check_passkey_counter(
        request=request, authenticator=authenticator, counter=webauthn.signature_counter(response)
    )
    authenticator.record_usage()
    note_authenticator_used(authenticator=authenticator)
    return True


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
        record_event(
            "account:password:change",
            user=user,
            request=request,
            details={"sessions_ended": ended, "trusted_devices_forgotten": forgotten},
        )


def note_password_reset(*, request: HttpRequest | None, user: Any) -> None:
    """After a reset by email: no session and no trusted device from before survives."""
    with transaction.atomic():
        _end_other_sessions(user=user, request=None)
        _revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
