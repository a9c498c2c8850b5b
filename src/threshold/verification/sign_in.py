"""How and when this session proved who it is: a recent sign-in, a passkey alone, an access pass.

The layer below accounts, security, recovery and organisation policy: each of them asks here,
and none of them needs another to know how a session was proven.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

ACCESS_PASS = "access_pass"
ACCOUNT_RECOVERY = "account_recovery"  # a completed account recovery (waiting period or reviewed)
# A session that came from one of these was vouched for by an admin or already waited: its
# removals need no wait.
VOUCHED_RESETS = frozenset({ACCESS_PASS, ACCOUNT_RECOVERY})

# The request attribute (never a session key) naming what proved the sign-in under way when
# it was not a password; set only through ``proving_sign_in``.
_SIGN_IN_PROVEN_BY = "threshold_sign_in_proven_by"

# How this session proved who it is, beyond allauth's own records of each sign-in: ONE session
# key holding a ``SignInProof``, read and written only through the functions below.
PROOF_SESSION_KEY = "threshold.verification.proof"
# The keys the record replaced, read (never written) until sessions made before it have expired.
_OLD_RESET_BY_KEY = "threshold.security_reset_by"
_OLD_ACCESS_PASS_KEY = "threshold.recovery.access_pass"
_OLD_ACCESS_PASS_UNTIL_KEY = "threshold.recovery.access_pass_until"


@dataclass(frozen=True)
class SignInProof:
    """What stood in for the usual sign-in of this session, when something did.

    ``vouched_by`` is ACCESS_PASS or ACCOUNT_RECOVERY for a session an admin vouched for or
    that already waited (set only after its sign-in completed), else "". For a Temporary
    Access Pass, ``access_pass`` is the pass's public id and ``access_pass_until`` when it
    expires (a POSIX timestamp).
    """

    vouched_by: str = ""
    access_pass: str = ""
    access_pass_until: float = 0.0

    def as_session_value(self) -> dict[str, Any]:
        return {
            "vouched_by": self.vouched_by,
            "access_pass": self.access_pass,
            "until": self.access_pass_until,
        }


def _as_float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def proof_in(session: Any) -> SignInProof:
    """The record kept in ``session`` (a session store), or an empty one."""
    if session is None:
        return SignInProof()
    value = session.get(PROOF_SESSION_KEY)
    if isinstance(value, dict):
        return SignInProof(
            vouched_by=str(value.get("vouched_by") or ""),
            access_pass=str(value.get("access_pass") or ""),
            access_pass_until=_as_float(value.get("until")),
        )
    old = session.get(_OLD_RESET_BY_KEY)
    if old:
        return SignInProof(
            vouched_by=str(old),
            access_pass=str(session.get(_OLD_ACCESS_PASS_KEY) or ""),
            access_pass_until=_as_float(session.get(_OLD_ACCESS_PASS_UNTIL_KEY)),
        )
    return SignInProof()


def proof_of(request: HttpRequest | None) -> SignInProof:
    """How this request's session proved who it is."""
    return proof_in(getattr(request, "session", None))


def note_vouched_sign_in(
    *, request: HttpRequest, by: str, access_pass: str = "", access_pass_until: float = 0.0
) -> None:
    """Mark the session just signed in as made by ``by`` (an access pass, an account recovery)."""
    request.session[PROOF_SESSION_KEY] = SignInProof(
        vouched_by=by, access_pass=access_pass, access_pass_until=access_pass_until
    ).as_session_value()


def vouched_reset(request: HttpRequest | None) -> str:
    """ "access_pass" or "account_recovery" when this session came from one; else ""."""
    value = proof_of(request).vouched_by
    return value if value in VOUCHED_RESETS else ""


def access_pass_session_until(request: HttpRequest | None) -> datetime | None:
    """When this session's Temporary Access Pass expires; None for any other session."""
    proof = proof_of(request)
    if proof.vouched_by != ACCESS_PASS or proof.access_pass_until <= 0:
        return None
    return datetime.fromtimestamp(proof.access_pass_until, tz=UTC)


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
        # (recovery.restrictions), so this opens nothing else.
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
