"""The recent sign-in that changing how the account is protected needs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import ngettext

from threshold.core.errors import FreshSignInRequired
from threshold.verification.sign_in import fresh_sign_in_seconds, signed_in_recently


def ensure_fresh_sign_in(*, request: HttpRequest | None, user: Any) -> None:
    """Raise ``FreshSignInRequired`` unless this session signed in within the last 10 minutes.

    SECURITY: a session left open on a shared computer, or a stolen session cookie, must
    not be enough to change how the account is protected. The check lives here, in the
    services, so every way in (page, API, admin) needs the same recent proof; any sign-in
    method counts, as does a re-sign-in at /accounts/reauthenticate/.
    """
    if request is None or not signed_in_recently(request, user):
        minutes = fresh_sign_in_seconds() // 60
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
    return not signed_in_recently(request, request.user)
