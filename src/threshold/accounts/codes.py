"""One-time codes: one implementation for verifying a phone number, signing in with one, and
resetting a forgotten password by email or text message.

The rules, for every purpose: six random digits, stored only as a keyed hash; a code works
only once, for ``PHONE_CODE_TTL`` when it goes by text message and for the purpose's
``EMAIL_CODE_TTL`` when it goes by email (``code_ttl``); ``PHONE_CODE_MAX_TRIES`` wrong
tries stop the target's codes for the rest of ``PHONE_CODE_TRY_WINDOW``, and asking for a
new code keeps the count; sending is capped per target, per account and per client address
(``PHONE_CODE_SEND_LIMITS``, ``EMAIL_CODE_SEND_LIMITS``). A target is an E.164 number or
an email address. Callers (accounts.services for Your info, security.services for the
second step at sign-in, recovery.services for a password reset and for account recovery)
add their own words and events. A code may belong to no account (``user`` None): one that
proves the contact address of a recovery request before any account is known.
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
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from threshold.accounts.models import VerificationCode
from threshold.verification import throttle
from threshold.verification.hashing import keyed_hash

CODE_DIGITS = 6


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def user_id_of(user: Any) -> int:
    """The id a code is bound to: the account's, or 0 for a code that belongs to no account."""
    return int(user.pk) if user is not None else 0


FLOW_SESSION_KEY = "threshold_code_flow"


def flow_of(request: HttpRequest | None) -> str:
    """The flow a code is bound to: a random value kept in this browser's session.

    SECURITY (ASVS 6.6.2): a code works only in the session that asked for it. A code read
    over someone's shoulder, from a lock-screen preview, or sent for the owner's own reset
    is no use in another browser's flow for the same account, even within its tries.
    Without a session (a call from no browser) there is no flow to bind to: "".
    """
    session = getattr(request, "session", None)
    if session is None:
        return ""
    flow = session.get(FLOW_SESSION_KEY)
    if not isinstance(flow, str) or not flow:
        flow = secrets.token_urlsafe(16)
        session[FLOW_SESSION_KEY] = flow
    return flow


def hash_code(*, purpose: str, user_id: int, target: str, flow: str, code: str) -> str:
    """HMAC-SHA256 keyed with SECRET_KEY, bound to what the code is for and to its flow.

    SECURITY: a stolen database does not reveal live codes (a bare SHA-256 of six digits
    is reversed by trying all million), and a code for one number, account, purpose or
    flow (``flow_of``) cannot be replayed against another because all four are in the message.
    """
    message = f"{purpose}:{user_id}:{target}:{flow}:{code}"
    return keyed_hash(salt="threshold.accounts.codes", message=message)


def code_matches(*, stored_hash: str, purpose: str, user_id: int, target: str, flow: str, code: str) -> bool:
    code = "".join(code.split())
    if len(code) != CODE_DIGITS or not code.isdigit():
        return False
    candidate = hash_code(purpose=purpose, user_id=user_id, target=target, flow=flow, code=code)
    return constant_time_compare(stored_hash, candidate)


def origin_bound(body: str, code: str) -> str:
    """The message with the origin-bound one-time code line added.

    SECURITY: the last line binds the code to our origin, so browsers offer to fill it in
    only on this site, never on a look-alike.
    """
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"{body}\n\n@{host} #{code}"


# --- Sending ------------------------------------------------------------------------------------


def is_email(target: str) -> bool:
    """Whether a code's target is an email address (else it is a phone number in E.164)."""
    return "@" in target


def code_ttl(*, purpose: str, target: str) -> int:
    """Seconds a code for ``purpose`` sent to ``target`` works.

    SECURITY: a text message's code lives ``PHONE_CODE_TTL`` (10 minutes) whatever it is
    for; an email is read later than a text, so each purpose that mails codes names its own
    lifetime in ``EMAIL_CODE_TTL`` (a system check keeps it to an hour at most).
    """
    if is_email(target):
        return int(settings.EMAIL_CODE_TTL.get(str(purpose), settings.PHONE_CODE_TTL))
    return int(settings.PHONE_CODE_TTL)


def _send_keys(
    prefix: str, limits: dict[str, list[tuple[int, int]]], *, user: Any, target: str, ip: str
) -> list[tuple[str, int, int]]:
    target_limits = limits.get("number") or limits.get("email") or []
    return (
        [(f"{prefix}:number:{throttle.digest(target)}", count, window) for count, window in target_limits]
        + [(f"{prefix}:account:{user.pk}", count, window) for count, window in limits["account"]]
        + [
            (f"{prefix}:address:{throttle.digest(ip or 'none')}", count, window)
            for count, window in limits["address"]
        ]
    )


def send_wait(*, user: Any, number: str, ip: str) -> int:
    """Count one text message against every cap; 0 if it may go, else the seconds to wait.

    Texts for every purpose share the caps: a number is harassed, and texts cost money,
    whichever page asked for them.
    """
    return throttle.take(_send_keys("sms", settings.PHONE_CODE_SEND_LIMITS, user=user, target=number, ip=ip))


def mail_send_wait(*, user: Any, address: str, ip: str) -> int:
    """Count one mailed code against every cap (per address, account and client address).

    SECURITY: like texts, so nobody can flood someone's inbox through a code page.
    """
    return throttle.take(
        _send_keys("mail", settings.EMAIL_CODE_SEND_LIMITS, user=user, target=address.lower(), ip=ip)
    )


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


def hash_link(*, purpose: str, token: str) -> str:
    """The keyed hash of a link's token, by which its code row is found."""
    return keyed_hash(salt="threshold.accounts.codes.link", message=f"{purpose}:{token}")


def issue_code(*, user: Any, purpose: str, target: str, flow: str) -> str:
    """A new code for ``target``, replacing any open one but keeping its count of wrong tries.

    It works only in ``flow`` (``flow_of`` the request that asks for it).

    It works for ``ttl`` seconds (``PHONE_CODE_TTL`` unless given; at most the try window).
    ``user`` is None only for a code that proves an address no account is known for.
    Call inside a transaction. Raises ``CodesStopped`` after too many wrong tries.
    """
    return _issue(user=user, purpose=purpose, target=target, flow=flow, link=False)[0]


def issue_code_and_link(*, user: Any, purpose: str, target: str, flow: str) -> tuple[str, str]:
    """``issue_code`` for an email, plus a long random token for a link that does what the code does.

    The token is stored only as a keyed hash and dies with the code (used, expired,
    replaced by a new code, or stopped by wrong tries). Unlike the code, the link is not
    bound to ``flow``: it is opened from the mailbox, often in another browser, and its
    256 random bits are the proof that it came from that mailbox.
    """
    return _issue(user=user, purpose=purpose, target=target, flow=flow, link=True)


def _issue(*, user: Any, purpose: str, target: str, flow: str, link: bool) -> tuple[str, str]:
    now = timezone.now()
    code = new_code()
    code_hash = hash_code(purpose=purpose, user_id=user_id_of(user), target=target, flow=flow, code=code)
    token = secrets.token_urlsafe(32) if link else ""
    link_hash = hash_link(purpose=purpose, token=token) if link else ""
    expires_at = now + timedelta(seconds=code_ttl(purpose=purpose, target=target))
    row = open_code(user=user, purpose=purpose, target=target, lock=True)
    if row is not None:
        # SECURITY: the row (and its attempts) is kept, so asking for a new code never resets
        # the number's wrong tries; only the try window running out does.
        until = stopped_until(row)
        if until is not None:
            raise CodesStopped(until)
        row.code_hash = code_hash
        row.link_hash = link_hash
        row.issued_at = now
        row.expires_at = expires_at
        row.save(update_fields=["code_hash", "link_hash", "issued_at", "expires_at"])
    else:
        VerificationCode.objects.create(
            user=user,
            purpose=purpose,
            target=target,
            code_hash=code_hash,
            link_hash=link_hash,
            created_at=now,
            issued_at=now,
            expires_at=expires_at,
        )
    return code, token


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
    issued_at: datetime | None = None  # for a MATCH: when the code that matched was sent


def check_code(*, user: Any, purpose: str, target: str, flow: str, code: str) -> Check:
    """Compare ``code`` with the number's current code, counting the try; use it up if right.

    A code sent for another flow (``flow_of`` another browser's request) is a wrong one.

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
        stored_hash=row.code_hash,
        purpose=purpose,
        user_id=user_id_of(user),
        target=target,
        flow=flow,
        code=code,
    ):
        row.refresh_from_db(fields=["attempts"])
        left = max_tries - row.attempts
        if left <= 0:
            return Check(Outcome.STOPPED, stopped_until=stopped_until(row), just_stopped=True)
        return Check(Outcome.WRONG, tries_left=left)
    # SECURITY: single use: of two requests with the same code, only one uses it up.
    used = VerificationCode.objects.filter(pk=row.pk, consumed_at__isnull=True).update(consumed_at=now)
    return Check(Outcome.MATCH, issued_at=row.issued_at) if used else Check(Outcome.USED)


def use_link(*, purpose: str, token: str) -> VerificationCode | None:
    """The code row whose link carries ``token``, now used up; None if it does not work.

    A link works like its code: once, until the code expires, and not once the code's
    wrong tries are spent. SECURITY: the token is 256 random bits, so it is looked up by
    its keyed hash rather than compared; the conditional UPDATE means that of two requests
    with one link, only one uses it.
    """
    if not token or len(token) > 128:
        return None
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW)
    row = (
        VerificationCode.objects.filter(
            purpose=purpose, link_hash=hash_link(purpose=purpose, token=token), created_at__gt=window_start
        )
        .select_related("user")
        .first()
    )
    if row is None:
        return None
    used = VerificationCode.objects.filter(
        pk=row.pk,
        link_hash=row.link_hash,
        consumed_at__isnull=True,
        attempts__lt=settings.PHONE_CODE_MAX_TRIES,
        expires_at__gt=now,
    ).update(consumed_at=now)
    return row if used else None
