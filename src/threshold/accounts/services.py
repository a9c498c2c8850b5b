"""The only writers of account state. Each checks, changes atomically and records an event."""

from __future__ import annotations

import secrets
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.accounts import throttle
from threshold.accounts.models import AccountKind, User
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of


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
