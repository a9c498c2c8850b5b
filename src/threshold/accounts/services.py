"""The only writers of account state. Each checks, changes atomically and records an event."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.accounts import codes, phones, photos, throttle
from threshold.accounts.models import AccountKind, PhoneNumber, User, VerificationCode, VerificationPurpose
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.core.sms import SmsDeliveryError, get_sms_gateway

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
    from threshold.accounts.selectors import user_by_email

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


def note_sign_in(*, request: HttpRequest | None, user: User) -> None:
    """A successful sign-in clears the account's failure count (not the address's)."""
    throttle.record_success(email=user.email)
    record_event("account:signin:success", user=user, request=request, method="password")


# --- Profile ----------------------------------------------------------------------------


PROFILE_FIELDS = ("display_name", "given_name", "family_name", "locale", "time_zone")


def update_profile(*, user: User, request: HttpRequest | None, changes: dict[str, Any]) -> list[str]:
    """Save names, language and region; returns the fields that changed."""
    changed = [f for f in PROFILE_FIELDS if f in changes and getattr(user, f) != changes[f]]
    if not changed:
        return []
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


def _open_phone_challenge(user: User, number: str, now: datetime, *, lock: bool = False) -> Any:
    window_start = now - timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW)
    queryset = VerificationCode.objects.filter(
        user=user,
        purpose=VerificationPurpose.PHONE,
        target=number,
        consumed_at__isnull=True,
        created_at__gt=window_start,
    ).order_by("-created_at", "-pk")
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def _locked_error(challenge: VerificationCode) -> ValidationError:
    until = timezone.localtime(challenge.created_at + timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW))
    return ValidationError(
        _(
            "You entered a wrong code too many times, so codes for this number are stopped for now. "
            "You can ask for a new code after %(time)s."
        )
        % {"time": formats.time_format(until, "TIME_FORMAT")},
        code="locked",
    )


def _ensure_code_send_allowed(*, user: User, request: HttpRequest | None, number: str) -> None:
    """Refuse a text message over the per-number, per-account or per-address limits."""
    limits = settings.PHONE_CODE_SEND_LIMITS
    ip = context_of(request).ip or "none"
    keys = (
        [(f"sms:number:{throttle.digest(number)}", count, window) for count, window in limits["number"]]
        + [(f"sms:account:{user.pk}", count, window) for count, window in limits["account"]]
        + [(f"sms:address:{throttle.digest(ip)}", count, window) for count, window in limits["address"]]
    )
    wait = throttle.take(keys)
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


def _issue_phone_code(*, user: User, number: str) -> str:
    """A new code for ``number``, replacing any open one but keeping its count of wrong tries."""
    now = timezone.now()
    code = codes.new_code()
    code_hash = codes.hash_code(purpose=VerificationPurpose.PHONE, user_id=user.pk, target=number, code=code)
    challenge = _open_phone_challenge(user, number, now, lock=True)
    if challenge is not None:
        # SECURITY: the row (and its attempts) is kept, so asking for a new code never resets
        # the number's wrong tries; only the try window running out does.
        if challenge.attempts >= settings.PHONE_CODE_MAX_TRIES:
            raise _locked_error(challenge)
        challenge.code_hash = code_hash
        challenge.expires_at = now + timedelta(seconds=settings.PHONE_CODE_TTL)
        challenge.save(update_fields=["code_hash", "expires_at"])
    else:
        VerificationCode.objects.create(
            user=user,
            purpose=VerificationPurpose.PHONE,
            target=number,
            code_hash=code_hash,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.PHONE_CODE_TTL),
        )
    return code


def _text_code(*, user: User, number: str, code: str) -> bool:
    """Send the code by text message in the person's language; False if the gateway refused."""
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    with translation.override(user.locale):
        body = _(
            "%(code)s is your Threshold verification code. It expires in %(minutes)d minutes. "
            "Don't share it with anyone: we will never ask you for it."
        ) % {"code": code, "minutes": settings.PHONE_CODE_TTL // 60}
    # SECURITY: the last line binds the code to our origin (the origin-bound one-time code
    # format), so browsers offer to fill it in only on this site, never on a look-alike.
    body += f"\n\n@{host} #{code}"
    try:
        get_sms_gateway().send(to=number, body=body)
    except SmsDeliveryError:
        logger.warning("Text message to a phone number was refused by the gateway", exc_info=True)
        return False
    return True


def add_phone_number(*, user: User, request: HttpRequest | None, number: str) -> tuple[PhoneNumber, bool]:
    """Add an unverified number (E.164) and text it a code; returns it and whether the text went out.

    Raises ValidationError, changing nothing, for an invalid or duplicate number, a full
    list, a number whose codes are stopped after wrong tries, or too many texts sent.
    """
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
    challenge = _open_phone_challenge(user, number, timezone.now())
    if challenge is not None and challenge.attempts >= settings.PHONE_CODE_MAX_TRIES:
        raise _locked_error(challenge)
    _ensure_code_send_allowed(user=user, request=request, number=number)
    try:
        with transaction.atomic():
            phone = PhoneNumber.objects.create(user=user, number=number)
            code = _issue_phone_code(user=user, number=number)
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
        code = _issue_phone_code(user=user, number=phone.number)
    return _text_code(user=user, number=phone.number, code=code)


def verify_phone_number(*, user: User, request: HttpRequest | None, phone: PhoneNumber, code: str) -> None:
    """Mark the number verified if ``code`` is its current code; ValidationError says why not.

    The first verified number becomes the primary one.
    """
    if phone.verified:
        raise ValidationError(_("This phone number is already verified."), code="already_verified")
    now = timezone.now()
    challenge = _open_phone_challenge(user, phone.number, now)
    if challenge is None:
        raise ValidationError(
            _("There's no code waiting for this number. Ask for a new code."), code="no_code"
        )
    max_tries = settings.PHONE_CODE_MAX_TRIES
    # SECURITY: a try is taken with a conditional UPDATE before the code is compared, so
    # parallel guesses cannot get past the limit, and an expired or used code never matches.
    reserved = VerificationCode.objects.filter(
        pk=challenge.pk, consumed_at__isnull=True, attempts__lt=max_tries, expires_at__gt=now
    ).update(attempts=F("attempts") + 1)
    if not reserved:
        challenge.refresh_from_db()
        if challenge.consumed_at is not None:
            raise ValidationError(_("This code has already been used. Ask for a new code."), code="used")
        if challenge.attempts >= max_tries:
            raise _locked_error(challenge)
        raise ValidationError(_("This code has expired. Ask for a new code."), code="expired")
    if not codes.code_matches(
        stored_hash=challenge.code_hash,
        purpose=VerificationPurpose.PHONE,
        user_id=user.pk,
        target=phone.number,
        code=code,
    ):
        attempts = VerificationCode.objects.values_list("attempts", flat=True).get(pk=challenge.pk)
        left = max_tries - attempts
        if left <= 0:
            record_event(
                "account:phone:locked",
                user=user,
                request=request,
                result=Result.FAILURE,
                details={"number": phone.number},
            )
            raise _locked_error(challenge)
        raise ValidationError(
            ngettext(
                "That code isn't right. Check the latest text message and try again; %(count)d try left.",
                "That code isn't right. Check the latest text message and try again; %(count)d tries left.",
                left,
            )
            % {"count": left},
            code="wrong",
        )
    with transaction.atomic():
        # SECURITY: single use: of two requests with the same code, only one consumes it.
        used = VerificationCode.objects.filter(pk=challenge.pk, consumed_at__isnull=True).update(
            consumed_at=now
        )
        if not used:
            raise ValidationError(_("This code has already been used. Ask for a new code."), code="used")
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


def make_phone_primary(*, user: User, request: HttpRequest | None, phone: PhoneNumber) -> bool:
    """Make a verified number the primary one; False if it already was."""
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

    Returns the new primary number, if one was chosen.
    """
    with transaction.atomic():
        list(PhoneNumber.objects.select_for_update().filter(user=user))
        deleted, _rows = PhoneNumber.objects.filter(pk=phone.pk, user=user).delete()
        if not deleted:
            return None
        record_event("account:phone:remove", user=user, request=request, details={"number": phone.number})
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
    current = request.session.session_key
    ended = 0
    with transaction.atomic():
        for session in UserSession.objects.filter(user=user):
            if session.session_key == current:
                continue
            session.end()
            ended += 1
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
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        user = User.objects.create_superuser(email=email, password=password, kind=AccountKind.PERSONAL)
        user.must_change_password = True
        user.save(update_fields=["must_change_password"])
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        record_event("account:admin:create", user=user, details={"via": "createadmin"})
    return user, password
