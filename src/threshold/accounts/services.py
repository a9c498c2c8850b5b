"""The only writers of account state. Each checks, changes atomically and records an event."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import logout, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.accounts import codes, phones, photos, registry, selectors
from threshold.accounts.models import AccountKind, PhoneNumber, User, VerificationPurpose
from threshold.accounts.registry import phone_removal_guard
from threshold.accounts.selectors import user_by_email
from threshold.activity.models import Result
from threshold.activity.services import record_event, record_sign_in
from threshold.core.context import context_of
from threshold.core.errors import Refused
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.verification import throttle
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in
from threshold.verification.sign_in import sign_in_proven_by, used_passwordless_passkey

logger = logging.getLogger(__name__)


def supported_language(code: str | None) -> str:
    available = {lang for lang, _name in settings.LANGUAGES}
    base = (code or "").split("-")[0].lower()
    return base if base in available else settings.LANGUAGE_CODE


# --- Sign-in throttling ---------------------------------------------------------------


def ensure_sign_in_allowed(*, request: HttpRequest, email: str) -> None:
    """Start a sign-in attempt, or refuse it while its account or client address must wait.

    SECURITY: the refusal reads the same whether or not an account has this email, and it
    comes before any password hashing, so it costs an attacker's target nothing.
    """
    verdict = throttle.begin_attempt(email=email, ip=context_of(request).ip)
    if verdict.allowed:
        return
    record_event(
        "account:signin:throttled",
        user=user_by_email(email) if email else None,
        request=request,
        subject_label=email[:254],
        result=Result.BLOCKED,
        method="password",
        details={"retry_after": verdict.retry_after},
    )
    raise ValidationError(
        ngettext(
            "Too many unsuccessful sign-in attempts. Wait %(seconds)d second and try again.",
            "Too many unsuccessful sign-in attempts. Wait %(seconds)d seconds and try again.",
            verdict.retry_after,
        )
        % {"seconds": verdict.retry_after},
        code="throttled",
    )


def note_password_accepted(*, request: HttpRequest, email: str) -> None:
    """The attempt begun by ``ensure_sign_in_allowed`` was no failure after all."""
    throttle.attempt_succeeded(email=email, ip=context_of(request).ip)


def note_password_failed(*, request: HttpRequest | None, email: str) -> None:
    """One more wrong password in a row for the account with this email, if there is one.

    The count lives on the account (it outlasts the throttle's cache), and the failure that
    reaches ``SIGN_IN_FAILURE_LIMIT`` stops password sign-in and tells the owner at every
    verified address (``account:password:stopped``), once.

    SECURITY: the same UPDATE and read run for an unknown email as for a known one.
    """
    address = email.strip().lower()
    with transaction.atomic():
        # The UPDATE holds the row until commit, so the count read back is this failure's own:
        # of two parallel failures, exactly one sees the limit.
        User.objects.filter(email=address).update(failed_sign_ins=F("failed_sign_ins") + 1)
        user = User.objects.filter(email=address).first()
        if user is not None and user.failed_sign_ins == settings.SIGN_IN_FAILURE_LIMIT:
            record_event(
                "account:password:stopped",
                user=user,
                request=request,
                details={"failures": user.failed_sign_ins},
            )


def refuse_stopped_password(*, request: HttpRequest | None, email: str) -> None:
    """The right password for an account whose password sign-in is stopped: refused as if wrong.

    SECURITY: the guesser sees the wrong-password answer after the same work: the hash,
    the count, and the event for the account the typed email names (looked up as a wrong
    password's event is), so a stop tells them neither that they guessed right nor that
    the account exists. The owner sees it on Recent activity.
    """
    note_password_failed(request=request, email=email)
    record_event(
        "account:signin:password_stopped",
        user=selectors.user_by_email(email),
        subject_label=email[:254],
        request=request,
        result=Result.BLOCKED,
        method="password",
    )


def note_sign_in(*, request: HttpRequest | None, user: User) -> None:
    """A successful sign-in clears the account's failure count (not the address's), and its
    wrong passwords in a row unless they already stopped password sign-in.

    It is recorded scored against the account's history, and an unfamiliar one alerts the
    person (activity/risk.py); a sign-in with a passkey alone, or with a Temporary Access
    Pass, is recorded as one.
    """
    throttle.record_success(email=user.email)
    if 0 < user.failed_sign_ins < settings.SIGN_IN_FAILURE_LIMIT:
        # Wrong passwords before this sign-in no longer count; a stop stays until a reset.
        User.objects.filter(pk=user.pk, failed_sign_ins__lt=settings.SIGN_IN_FAILURE_LIMIT).update(
            failed_sign_ins=0
        )
        user.failed_sign_ins = 0
    method = sign_in_proven_by(request) or (
        "passkey" if request is not None and used_passwordless_passkey(request, user) else "password"
    )
    record_sign_in(user=user, request=request, method=method)


# --- Profile ----------------------------------------------------------------------------


PROFILE_FIELDS = ("display_name", "given_name", "family_name", "locale", "time_zone")
NAME_FIELDS = frozenset({"display_name", "given_name", "family_name"})


def keep_signed_in_after_rehash(*, request: HttpRequest, user: Any, hash_before: str) -> None:
    """Keep this session signed in when a password check re-made the password's hash.

    Django ties each session to the stored hash, so a re-entered password whose hash
    ``User.check_password`` made again (one from before passwords were normalised) signed
    the person out at their next page. The hash alone changes: the password does not.
    """
    fresh = User.objects.filter(pk=user.pk).first()
    if fresh is not None and fresh.password != hash_before:
        update_session_auth_hash(request, fresh)


def update_profile(*, user: User, request: HttpRequest | None, changes: dict[str, Any]) -> list[str]:
    """Save names, language and region; returns the fields that changed.

    Names may be managed by the organisation (they come from its directory): a change to
    one is refused with ``PolicyDenied`` and nothing is saved.
    """
    changed = [f for f in PROFILE_FIELDS if f in changes and getattr(user, f) != changes[f]]
    if not changed:
        return []
    if NAME_FIELDS & set(changed):
        policies.require(user, Action.PROFILE_NAMES_CHANGE, request=request)
    with transaction.atomic():
        for field in changed:
            setattr(user, field, changes[field])
        user.save(update_fields=changed)
        record_event("account:profile:update", user=user, request=request, details={"fields": changed})
    return changed


def _wait_words(seconds: int) -> str:
    if seconds < 120:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = -(-seconds // 60)
    if minutes < 120:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


# --- Profile photo ------------------------------------------------------------------------


def update_photo(*, user: User, request: HttpRequest | None, data: bytes) -> None:
    """Replace the profile photo with a cleaned 256x256 copy of an upload.

    Raises ValidationError saying what is wrong with the file; then nothing changes.
    """
    policies.require(user, Action.PHOTO_CHANGE, request=request)
    wait = throttle.take(
        [(f"photo:{user.pk}", count, window) for count, window in settings.PHOTO_UPLOAD_LIMITS]
    )
    if wait:
        raise ValidationError(
            _("You've uploaded many photos in a short time. Try again in %(wait)s.")
            % {"wait": _wait_words(wait)},
            code="throttled",
        )
    try:
        image = photos.prepare_photo(
            data,
            max_bytes=settings.PHOTO_MAX_BYTES,
            max_pixels=settings.PHOTO_MAX_PIXELS,
            size=settings.PHOTO_SIZE,
        )
    except photos.PhotoError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc
    with transaction.atomic():
        user.photo = image
        user.photo_updated_at = timezone.now()
        user.save(update_fields=["photo", "photo_updated_at"])
        record_event(
            "account:photo:update",
            user=user,
            request=request,
            details={"uploaded_format": photos.sniff_format(data), "stored_bytes": len(image)},
        )


def remove_photo(*, user: User, request: HttpRequest | None) -> bool:
    """Delete the profile photo; False when there was none."""
    policies.require(user, Action.PHOTO_CHANGE, request=request)
    with transaction.atomic():
        removed = User.objects.filter(pk=user.pk, photo_updated_at__isnull=False).update(
            photo=None, photo_updated_at=None
        )
        if not removed:
            return False
        user.photo_updated_at = None
        record_event("account:photo:remove", user=user, request=request)
    return True


# --- Phone numbers --------------------------------------------------------------------------


def _stopped_error(until: datetime) -> ValidationError:
    return ValidationError(
        _(
            "You entered a wrong code too many times, so codes for this number are stopped for now. "
            "You can ask for a new code after %(time)s."
        )
        % {"time": formats.time_format(timezone.localtime(until), "TIME_FORMAT")},
        code="locked",
    )


def _ensure_code_send_allowed(*, user: User, request: HttpRequest | None, number: str) -> None:
    """Refuse a text message over the per-number, per-account or per-address limits."""
    wait = codes.send_wait(user=user, number=number, ip=context_of(request).ip)
    if not wait:
        return
    record_event(
        "account:phone:throttled",
        user=user,
        request=request,
        result=Result.BLOCKED,
        details={"number": number, "retry_after": wait},
    )
    raise ValidationError(
        _("You've asked for several codes in a short time. Wait %(wait)s, then ask for a new code.")
        % {"wait": _wait_words(wait)},
        code="throttled",
    )


def _issue_phone_code(*, user: User, request: HttpRequest | None, number: str) -> str:
    try:
        return codes.issue_code(
            user=user, purpose=VerificationPurpose.PHONE, target=number, flow=codes.flow_of(request)
        )
    except codes.CodesStopped as exc:
        raise _stopped_error(exc.until) from exc


def _text_code(*, user: User, number: str, code: str) -> bool:
    """Send the code by text message in the person's language; False if the gateway refused."""
    with translation.override(user.locale):
        body = _(
            "%(code)s is your Threshold verification code. It expires in %(minutes)d minutes. "
            "Don't share it with anyone: we will never ask you for it."
        ) % {"code": code, "minutes": settings.PHONE_CODE_TTL // 60}
    try:
        queue_text(to=number, body=codes.origin_bound(body, code))
    except SmsDeliveryError:
        logger.warning("Text message to a phone number was refused by the gateway", exc_info=True)
        return False
    return True


def add_phone_number(*, user: User, request: HttpRequest | None, number: str) -> tuple[PhoneNumber, bool]:
    """Add an unverified number (E.164) and text it a code; returns it and whether the text went out.

    Raises ValidationError, changing nothing, for an invalid or duplicate number, a full
    list, a number whose codes are stopped after wrong tries, or too many texts sent; and
    FreshSignInRequired unless this session signed in within the last few minutes.
    """
    policies.require(user, Action.PHONE_CHANGE, request=request)
    # SECURITY: phone numbers can become sign-in methods, so changing them needs the same
    # recent sign-in as every other sign-in security change (threshold.security).
    ensure_fresh_sign_in(request=request, user=user)
    number = phones.parse_phone_number(number, None)
    if PhoneNumber.objects.filter(user=user, number=number).exists():
        raise ValidationError(_("You've already added this phone number."), code="duplicate")
    if PhoneNumber.objects.filter(user=user).count() >= settings.PHONE_MAX_NUMBERS:
        raise ValidationError(
            _("You can have up to %(count)d phone numbers. Remove one to add another.")
            % {"count": settings.PHONE_MAX_NUMBERS},
            code="too_many",
        )
    # SECURITY: removing a number and adding it again does not reset its wrong tries.
    until = codes.stopped_until(codes.open_code(user=user, purpose=VerificationPurpose.PHONE, target=number))
    if until is not None:
        raise _stopped_error(until)
    _ensure_code_send_allowed(user=user, request=request, number=number)
    try:
        with transaction.atomic():
            phone = PhoneNumber.objects.create(user=user, number=number)
            code = _issue_phone_code(user=user, request=request, number=number)
            record_event("account:phone:add", user=user, request=request, details={"number": number})
    except IntegrityError as exc:  # the same number added twice at once
        raise ValidationError(_("You've already added this phone number."), code="duplicate") from exc
    return phone, _text_code(user=user, number=number, code=code)


def send_phone_code(*, user: User, request: HttpRequest | None, phone: PhoneNumber) -> bool:
    """Text a new code to an unverified number; returns whether the gateway took it."""
    if phone.verified:
        raise ValidationError(_("This phone number is already verified."), code="already_verified")
    _ensure_code_send_allowed(user=user, request=request, number=phone.number)
    with transaction.atomic():
        code = _issue_phone_code(user=user, request=request, number=phone.number)
    return _text_code(user=user, number=phone.number, code=code)


def verify_phone_number(*, user: User, request: HttpRequest | None, phone: PhoneNumber, code: str) -> None:
    """Mark the number verified if ``code`` is its current code; ValidationError says why not.

    The first verified number becomes the primary one.
    """
    if phone.verified:
        raise ValidationError(_("This phone number is already verified."), code="already_verified")
    now = timezone.now()
    with transaction.atomic():
        check = codes.check_code(
            user=user,
            purpose=VerificationPurpose.PHONE,
            target=phone.number,
            flow=codes.flow_of(request),
            code=code,
        )
        if check.outcome == codes.Outcome.MATCH:
            PhoneNumber.objects.filter(pk=phone.pk).update(verified_at=now)
            phone.verified_at = now
            record_event("account:phone:verify", user=user, request=request, details={"number": phone.number})
            list(PhoneNumber.objects.select_for_update().filter(user=user))
            if not PhoneNumber.objects.filter(user=user, primary=True).exists():
                PhoneNumber.objects.filter(pk=phone.pk).update(primary=True)
                phone.primary = True
                record_event(
                    "account:phone:primary", user=user, request=request, details={"number": phone.number}
                )
            return
    # Refused only now, after the block: the try it cost stays counted.
    if check.just_stopped:
        record_event(
            "account:phone:locked",
            user=user,
            request=request,
            result=Result.FAILURE,
            details={"number": phone.number},
        )
    if check.outcome == codes.Outcome.STOPPED and check.stopped_until is not None:
        raise _stopped_error(check.stopped_until)
    if check.outcome == codes.Outcome.WRONG:
        raise ValidationError(
            ngettext(
                "That code isn't right. Check the latest text message and try again; %(count)d try left.",
                "That code isn't right. Check the latest text message and try again; %(count)d tries left.",
                check.tries_left,
            )
            % {"count": check.tries_left},
            code="wrong",
        )
    if check.outcome == codes.Outcome.USED:
        raise ValidationError(_("This code has already been used. Ask for a new code."), code="used")
    if check.outcome == codes.Outcome.EXPIRED:
        raise ValidationError(_("This code has expired. Ask for a new code."), code="expired")
    raise ValidationError(_("There's no code waiting for this number. Ask for a new code."), code="no_code")


def make_phone_primary(*, user: User, request: HttpRequest | None, phone: PhoneNumber) -> bool:
    """Make a verified number the primary one; False if it already was."""
    policies.require(user, Action.PHONE_CHANGE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    if not phone.verified:
        raise ValidationError(_("Verify this phone number before making it primary."), code="unverified")
    if phone.primary:
        return False
    with transaction.atomic():
        list(PhoneNumber.objects.select_for_update().filter(user=user))
        # The old primary is cleared first: at most one primary number per account.
        PhoneNumber.objects.filter(user=user, primary=True).update(primary=False)
        PhoneNumber.objects.filter(pk=phone.pk, user=user).update(primary=True)
        phone.primary = True
        record_event("account:phone:primary", user=user, request=request, details={"number": phone.number})
    return True


def remove_phone_number(*, user: User, request: HttpRequest | None, phone: PhoneNumber) -> PhoneNumber | None:
    """Remove a number; if it was primary, the oldest other verified number becomes primary.

    Returns the new primary number, if one was chosen. A number that is the last sign-in
    method while two-step verification is on stays: ValidationError says why and what to
    do. A number that receives sign-in codes takes that sign-in method with it.
    """
    policies.require(user, Action.PHONE_CHANGE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        list(PhoneNumber.objects.select_for_update().filter(user=user))
        try:
            method = phone_removal_guard().ensure_phone_removable(user=user, phone=phone, request=request)
        except Refused as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        deleted, _rows = PhoneNumber.objects.filter(pk=phone.pk, user=user).delete()
        if not deleted:
            return None
        details: dict[str, Any] = {"number": phone.number}
        if method is not None:
            details["sign_in_method"] = True
            phone_removal_guard().note_phone_removed(user=user, request=request, method=method)
        record_event("account:phone:remove", user=user, request=request, details=details)
        if not phone.primary:
            return None
        successor = (
            PhoneNumber.objects.filter(user=user, verified_at__isnull=False)
            .order_by("created_at", "pk")
            .first()
        )
        if successor is not None:
            PhoneNumber.objects.filter(pk=successor.pk).update(primary=True)
            successor.primary = True
            record_event(
                "account:phone:primary", user=user, request=request, details={"number": successor.number}
            )
    return successor


# --- Sessions ---------------------------------------------------------------------------


def sign_out_everywhere(*, user: User, request: HttpRequest, include_current: bool) -> int:
    """End every session of the account, except this one unless asked; returns how many ended."""
    with transaction.atomic():
        ended = registry.end_sessions(user=user, keep=request.session.session_key)
        record_event(
            "account:signout:everywhere",
            user=user,
            request=request,
            details={"sessions_ended": ended, "including_this_one": include_current},
        )
    if include_current:
        logout(request)
    return ended


# --- Operator -------------------------------------------------------------------------------


def create_admin(*, email: str) -> tuple[User, str]:
    """Create a staff account with a one-time random password, returned once to print."""
    email = email.strip().lower()
    validate_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("An account with this email address already exists."))
    password = secrets.token_urlsafe(18)
    with transaction.atomic():
        user = User.objects.create_superuser(email=email, password=password, kind=AccountKind.PERSONAL)
        user.must_change_password = True
        user.save(update_fields=["must_change_password"])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        record_event("account:admin:create", user=user, details={"via": "createadmin"})
    return user, password


# --- Sign-ups nobody verified ----------------------------------------------------------------


def replace_unverified_sign_ups(*, user_ids: list[int], request: HttpRequest | None) -> bool:
    """Delete the unverified sign-ups holding an address so that a new sign-up can take the address.

    Called inside the new sign-up's transaction. SECURITY: someone who signs up with another
    person's address and never verifies it would otherwise keep the owner out (their sign-up
    is told the account exists, and a reset sends nothing to an unverified address). Each
    account is locked and checked again; if any of them is no longer an unverified sign-up
    (verified meanwhile), nothing is deleted and False is returned. The new sign-up's answer
    is the same either way, so it never tells that someone had squatted the address.
    """
    with transaction.atomic():
        locked = list(selectors.unverified_sign_ups().select_for_update().filter(pk__in=user_ids))
        if sorted(user.pk for user in locked) != sorted(user_ids):
            return False
        for user in locked:
            _discard_sign_up(user=user, request=request, reason="replaced")
    return True


def discard_expired_sign_ups(*, now: datetime | None = None) -> int:
    """Delete every sign-up still unverified ``UNVERIFIED_SIGNUP_HOURS`` after it was made.

    Idempotent; each account in a transaction of its own, locked and checked again first.
    Returns how many were deleted.
    """
    cutoff = (now or timezone.now()) - timedelta(hours=settings.UNVERIFIED_SIGNUP_HOURS)
    expired = list(
        selectors.unverified_sign_ups().filter(date_joined__lt=cutoff).values_list("pk", flat=True)
    )
    discarded = 0
    for pk in expired:
        with transaction.atomic():
            user = (
                selectors.unverified_sign_ups()
                .select_for_update()
                .filter(pk=pk, date_joined__lt=cutoff)
                .first()
            )
            if user is not None:
                _discard_sign_up(user=user, request=None, reason="expired")
                discarded += 1
    return discarded


def _discard_sign_up(*, user: User, request: HttpRequest | None, reason: str) -> None:
    # The event is written on the account (its label and public id are snapshotted) before
    # the row goes; every other row of the account goes with it (each relation cascades, and
    # security events keep their snapshot with no account).
    record_event(
        "account:signup:discard",
        user=user,
        request=request,
        details={"reason": reason, "joined": user.date_joined.isoformat()},
    )
    user.delete()
