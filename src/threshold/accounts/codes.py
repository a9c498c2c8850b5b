"""Text-message codes: one implementation for verifying a phone number and for signing in with one.

The rules, for every purpose: six random digits, stored only as a keyed hash; a code works
for ``PHONE_CODE_TTL`` and only once; ``PHONE_CODE_MAX_TRIES`` wrong tries stop the
number's codes for the rest of ``PHONE_CODE_TRY_WINDOW``, and asking for a new code keeps
the count; sending is capped per number, per account and per client address
(``PHONE_CODE_SEND_LIMITS``). Callers (accounts.services for Your info, security.services
for the second step at sign-in, recovery.services for account recovery, whose codes also
go by email and may prove an address that no account is known for) add their own words,
limits and events.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from threshold.accounts import throttle
from threshold.accounts.models import VerificationCode

CODE_DIGITS = 6


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def user_id_of(user: Any) -> int:
    """The id a code is bound to: the account's, or 0 for a code that belongs to no account."""
    return int(user.pk) if user is not None else 0


def hash_code(*, purpose: str, user_id: int, target: str, code: str) -> str:
    """HMAC-SHA256 keyed with SECRET_KEY, bound to what the code is for.

    SECURITY: a stolen database does not reveal live codes (a bare SHA-256 of six digits
    is reversed by trying all million), and a code for one number, account or purpose
    cannot be replayed against another because all three are in the message.
    """
    message = f"{purpose}:{user_id}:{target}:{code}"
    return salted_hmac("threshold.accounts.codes", message, algorithm="sha256").hexdigest()


def code_matches(*, stored_hash: str, purpose: str, user_id: int, target: str, code: str) -> bool:
    code = "".join(code.split())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return False
    candidate = hash_code(purpose=purpose, user_id=user_id, target=target, code=code)
    return constant_time_compare(stored_hash, candidate)


def origin_bound(body: str, code: str) -> str:
    """The message with the origin-bound one-time code line added.

    SECURITY: the last line binds the code to our origin, so browsers offer to fill it in
    only on this site, never on a look-alike.
    """
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"{body}\n\n@{host} #{code}"


# --- Sending ------------------------------------------------------------------------------------


def send_wait(*, user: Any, number: str, ip: str) -> int:
    """Count one text message against every cap; 0 if it may go, else the seconds to wait.

    Texts for every purpose share the caps: a number is harassed, and texts cost money,
    whichever page asked for them.
    """
    limits = settings.PHONE_CODE_SEND_LIMITS
    keys = (
        [(f"sms:number:{throttle.digest(number)}", count, window) for count, window in limits["number"]]
        + [(f"sms:account:{user.pk}", count, window) for count, window in limits["account"]]
        + [
            (f"sms:address:{throttle.digest(ip or 'none')}", count, window)
            for count, window in limits["address"]
        ]
    )
    return throttle.take(keys)


class CodesStopped(Exception):
    """Too many wrong codes for this number: no new code until ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"codes stopped until {until.isoformat()}")
        self.until = until


def open_code(*, user: Any, purpose: str, target: str, lock: bool = False) -> VerificationCode | None:
    """The number's current code row for ``purpose``: unused and inside its try window."""
    window_start = timezone.now() - timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW)
    queryset = VerificationCode.objects.filter(
        user=user, purpose=purpose, target=target, consumed_at__isnull=True, created_at__gt=window_start
    ).order_by("-created_at", "-pk")
    if lock:
        queryset = queryset.select_for_update()
    return queryset.first()


def stopped_until(row: VerificationCode | None) -> datetime | None:
    """When a number whose codes are stopped may have a new one; None if they are not stopped."""
    if row is None or row.attempts < settings.PHONE_CODE_MAX_TRIES:
        return None
    return row.created_at + timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW)


def issue_code(*, user: Any, purpose: str, target: str, ttl: int | None = None) -> str:
    """A new code for ``target``, replacing any open one but keeping its count of wrong tries.

    It works for ``ttl`` seconds (``PHONE_CODE_TTL`` unless given; at most the try window).
    ``user`` is None only for a code that proves an address no account is known for.
    Call inside a transaction. Raises ``CodesStopped`` after too many wrong tries.
    """
    now = timezone.now()
    code = new_code()
    code_hash = hash_code(purpose=purpose, user_id=user_id_of(user), target=target, code=code)
    lifetime = min(ttl or settings.PHONE_CODE_TTL, settings.PHONE_CODE_TRY_WINDOW)
    expires_at = now + timedelta(seconds=lifetime)
    row = open_code(user=user, purpose=purpose, target=target, lock=True)
    if row is not None:
        # SECURITY: the row (and its attempts) is kept, so asking for a new code never resets
        # the number's wrong tries; only the try window running out does.
        until = stopped_until(row)
        if until is not None:
            raise CodesStopped(until)
        row.code_hash = code_hash
        row.expires_at = expires_at
        row.save(update_fields=["code_hash", "expires_at"])
    else:
        VerificationCode.objects.create(
            user=user,
            purpose=purpose,
            target=target,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
        )
    return code


# --- Checking -----------------------------------------------------------------------------------


class Outcome(StrEnum):
    MATCH = "match"  # right, and now used up
    WRONG = "wrong"  # ``tries_left`` more may be made
    STOPPED = "stopped"  # too many wrong tries; ``stopped_until`` says until when
    EXPIRED = "expired"
    USED = "used"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    tries_left: int = 0
    stopped_until: datetime | None = None
    just_stopped: bool = False  # this wrong try was the last one allowed


def check_code(*, user: Any, purpose: str, target: str, code: str) -> Check:
    """Compare ``code`` with the number's current code, counting the try; use it up if right.

    For the use to be saved with the caller's change, call inside ``transaction.atomic()``
    together with it, and raise any refusal only after that block: the try is counted
    whatever the outcome.
    """
    row = open_code(user=user, purpose=purpose, target=target)
    if row is None:
        return Check(Outcome.NO_CODE)
    now = timezone.now()
    max_tries = settings.PHONE_CODE_MAX_TRIES
    # SECURITY: a try is taken with a conditional UPDATE before the code is compared, so
    # parallel guesses cannot get past the limit, and an expired or used code never matches.
    reserved = VerificationCode.objects.filter(
        pk=row.pk, consumed_at__isnull=True, attempts__lt=max_tries, expires_at__gt=now
    ).update(attempts=F("attempts") + 1)
    if not reserved:
        row.refresh_from_db()
        if row.consumed_at is not None:
            return Check(Outcome.USED)
        until = stopped_until(row)
        if until is not None:
            return Check(Outcome.STOPPED, stopped_until=until)
        return Check(Outcome.EXPIRED)
    if not code_matches(
        stored_hash=row.code_hash, purpose=purpose, user_id=user_id_of(user), target=target, code=code
    ):
        row.refresh_from_db(fields=["attempts"])
        left = max_tries - row.attempts
        if left <= 0:
            return Check(Outcome.STOPPED, stopped_until=stopped_until(row), just_stopped=True)
        return Check(Outcome.WRONG, tries_left=left)
    # SECURITY: single use: of two requests with the same code, only one uses it up.
    used = VerificationCode.objects.filter(pk=row.pk, consumed_at__isnull=True).update(consumed_at=now)
    return Check(Outcome.MATCH) if used else Check(Outcome.USED)
