"""How and when this session proved who it is: a recent sign-in, a passkey alone, an access pass.

The layer below accounts, security, recovery and organisation policy: each of them asks here,
and none of them needs another to know how a session was proven.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

# How a session proved who it is when it skipped the usual sign-in (set by threshold.recovery
# only after the sign-in has completed): the cooling-off rule and the access-pass session read it.
RESET_BY_SESSION_KEY = "threshold.security_reset_by"
ACCESS_PASS = "access_pass"
ACCOUNT_RECOVERY = "account_recovery"  # a completed account recovery (waiting period or reviewed)
# A session that came from one of these was vouched for by an admin or already waited: its
# removals need no wait.
VOUCHED_RESETS = frozenset({ACCESS_PASS, ACCOUNT_RECOVERY})
# The pass that signed this session in, and when it expires (a POSIX timestamp).
ACCESS_PASS_SESSION_KEY = "threshold.recovery.access_pass"
ACCESS_PASS_UNTIL_SESSION_KEY = "threshold.recovery.access_pass_until"

# The request attribute (never a session key) naming what proved the sign-in under way when
# it was not a password; set only through ``proving_sign_in``.
_SIGN_IN_PROVEN_BY = "threshold_sign_in_proven_by"


def vouched_reset(request: HttpRequest | None) -> str:
    """ "access_pass" or "account_recovery" when this session came from one; else ""."""
    if request is None or not hasattr(request, "session"):
        return ""
    value = request.session.get(RESET_BY_SESSION_KEY)
    return str(value) if value in VOUCHED_RESETS else ""


def access_pass_session_until(request: HttpRequest | None) -> datetime | None:
    """When this session's Temporary Access Pass expires; None for any other session."""
    session = getattr(request, "session", None)
    if session is None or session.get(RESET_BY_SESSION_KEY) != ACCESS_PASS:
        return None
    try:
        until = float(session.get(ACCESS_PASS_UNTIL_SESSION_KEY, 0))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(until, tz=UTC) if until > 0 else None


def access_pass_session_live(request: HttpRequest | None) -> bool:
    until = access_pass_session_until(request)
    return until is not None and until > timezone.now()


def fresh_sign_in_seconds() -> int:
    return int(settings.ACCOUNT_REAUTHENTICATION_TIMEOUT)


def last_authenticated_at(request: HttpRequest, user: Any) -> float | None:
    """When this session last proved who it is (a sign-in or a re-sign-in, any method)."""
    records = get_authentication_records(request, user)
    times = [float(r["at"]) for r in records if isinstance(r, dict) and isinstance(r.get("at"), int | float)]
    return max(times) if times else None


def signed_in_recently(request: HttpRequest, user: Any) -> bool:
    if access_pass_session_live(request):
        # SECURITY: a Temporary Access Pass is itself the fresh proof, for as long as the
        # pass works; its session reaches only the pages that set up sign-in methods
        # (threshold.recovery.middleware), so this opens nothing else.
        return True
    at = last_authenticated_at(request, user)
    return at is not None and 0 <= time.time() - at < fresh_sign_in_seconds()


@contextmanager
def proving_sign_in(request: HttpRequest, by: str) -> Iterator[None]:
    """For the sign-in made inside this block: ``by`` (an access pass, an account recovery) proved it.

    SECURITY: the mark that lets this one sign-in skip the second step lives on the request
    only, never in the session, so nothing of it can outlast the block.
    """
    setattr(request, _SIGN_IN_PROVEN_BY, by)
    try:
        yield
    finally:
        delattr(request, _SIGN_IN_PROVEN_BY)


def sign_in_proven_by(request: HttpRequest | None) -> str:
    return str(getattr(request, _SIGN_IN_PROVEN_BY, "") or "")


def used_passwordless_passkey(request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in began with a passkey alone, which already is two factors."""
    return any(
        r.get("method") == "mfa" and r.get("passwordless") for r in get_authentication_records(request, user)
    )
