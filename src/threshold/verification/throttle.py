"""Every throttle in Threshold: the locked primitives and the limits of each flow.

Shared by every app process through the cache. Two kinds of limit live here:

- growing delays (``begin``): each failure past a few free ones doubles the wait before the
  next try, capped at 15 minutes; used for passwords at sign-in and for second-step codes;
- fixed windows (``take``/``increment``): so many uses per window; used for sending codes,
  for entering recovery codes, for recovery requests and for uploads.

Each flow's limits are the named functions and constants below; callers never build keys.

SECURITY: there is no lock-out an attacker could trigger at will. After a few free
failures each further failure doubles the wait before the next try for that account (and,
with a larger allowance, for that client address), capped at 15 minutes. The account key
is the normalised email, hashed, whether or not an account has it, so the answer for an
unknown email is the same as for a known one.

SECURITY: an attempt counts as a failure from the moment it starts, before the password
is hashed, and a right password gives it back. Counting only after the hash let any number
of parallel requests pass the check together, each with its own guess; now the check and
the count happen together under a short lock per key (``cache.add`` is atomic in Redis and
in the database cache alike), so parallel guesses are limited exactly as serial ones.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from threshold.verification.hashing import digest

FREE_FAILURES_PER_ACCOUNT = 4
FREE_FAILURES_PER_ADDRESS = 20
MAX_DELAY_SECONDS = 15 * 60
MEMORY_SECONDS = 24 * 3600
LOCK_SECONDS = 5  # a crashed process's lock frees itself after this long
LOCK_WAIT_SECONDS = 3.0

State = tuple[int, float]  # (failures, time of the latest attempt)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def _account_key(email: str) -> str:
    return f"signin-fail:acct:{digest(email.strip().lower())}"


def _address_key(ip: str) -> str:
    return f"signin-fail:ip:{ip or 'none'}"


def delay_for(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` failures when ``free`` of them cost nothing."""
    if failures < free:
        return 0
    return min(2 ** min(failures - free + 1, 20), MAX_DELAY_SECONDS)


def _wait(state: State | None, free: int, now: float) -> int:
    if not state:
        return 0
    failures, last = state
    return max(0, math.ceil(last + delay_for(failures, free) - now))


@contextmanager
def _locked(keys: Iterable[str]) -> Iterator[bool]:
    """Hold a short lock on each key (in a fixed order, so two holders never deadlock).

    Yields whether every lock is held. SECURITY: a caller that did not get them all must
    refuse rather than go on unlocked: under a flood of parallel guesses, going on would
    let the flood past the count, and the flood is exactly when the locks are hard to get.
    """
    held: list[str] = []
    wanted = sorted(keys)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    try:
        for key in wanted:
            lock = f"{key}:lock"
            while not cache.add(lock, 1, LOCK_SECONDS):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005 + random.random() * 0.01)
            else:
                held.append(lock)
                continue
            break
        yield len(held) == len(wanted)
    finally:
        if held:
            cache.delete_many(held)


def _sign_in_keys(email: str, ip: str) -> dict[str, int]:
    return {_account_key(email): FREE_FAILURES_PER_ACCOUNT, _address_key(ip): FREE_FAILURES_PER_ADDRESS}


# --- Sign-in by password (growing delays) --------------------------------------------------


def check(*, email: str, ip: str) -> Verdict:
    """Whether an attempt could start now, without counting one."""
    now = time.time()
    keys = _sign_in_keys(email, ip)
    states = cache.get_many(list(keys))
    wait = max(_wait(states.get(key), free, now) for key, free in keys.items())
    return Verdict(allowed=wait == 0, retry_after=wait)


def begin(keys: dict[str, int]) -> Verdict:
    """Start one attempt counted against each key (``key: free failures``), as one atomic step.

    Refused while any key must wait; otherwise the attempt is counted as a failure at once,
    before anything is checked, and the caller gives it back (or clears the key) only when
    the attempt turns out right. SECURITY: the check and the count happen under one lock per
    key, so of any number of parallel attempts only as many pass as serial ones would.
    """
    with _locked(keys) as locked:
        if not locked:
            return Verdict(allowed=False, retry_after=1)
        now = time.time()
        states = cache.get_many(list(keys))
        wait = max(_wait(states.get(key), free, now) for key, free in keys.items())
        if wait:
            return Verdict(allowed=False, retry_after=wait)
        cache.set_many(
            {key: ((states[key][0] if key in states else 0) + 1, now) for key in keys}, MEMORY_SECONDS
        )
    return Verdict(allowed=True)


def begin_attempt(*, email: str, ip: str) -> Verdict:
    """Start a sign-in attempt: refuse it while its account or address must wait, else count it."""
    return begin(_sign_in_keys(email, ip))


def attempt_succeeded(*, email: str, ip: str) -> None:
    """The password was right: the account starts afresh, and the address gets its attempt back."""
    cache.delete(_account_key(email))
    key = _address_key(ip)
    with _locked([key]) as locked:
        state = cache.get(key) if locked else None
        if state:
            cache.set(key, (max(0, state[0] - 1), state[1]), MEMORY_SECONDS)


def record_success(*, email: str) -> None:
    """Any sign-in (by password, or after a code proved the mailbox) clears the account's count."""
    cache.delete(_account_key(email))


# --- Fixed-window send limits (text messages, uploads) ------------------------------------


def take(limits: list[tuple[str, int, int]]) -> int:
    """Count one use against each ``(key, allowed, window_seconds)``; 0 if every limit allows it.

    Otherwise the seconds until the strictest exhausted window ends. The use is counted
    first and compared after, so parallel requests cannot all slip under a limit; a
    refused use counts too, which keeps hammering from ever getting through.
    """
    now = time.time()
    wait = 0
    for key, allowed, window in limits:
        bucket = int(now // window)
        count = increment(f"limit:{key}:{window}:{bucket}", window + 60)
        if count is None:
            wait = max(wait, 1)
        elif count > allowed:
            wait = max(wait, math.ceil((bucket + 1) * window - now))
    return wait


def increment(key: str, timeout: int) -> int | None:
    """Add one to the counter ``key`` (made with ``timeout`` seconds to live) and return it.

    None when the count could not be taken safely: the caller must refuse.
    """
    # SECURITY: Redis increments atomically, but the database cache's incr is a read then a
    # write: without the lock, 3 of 20 parallel requests got through "1 per 30 s".
    with _locked([key]) as locked:
        if not locked:
            return None
        cache.add(key, 0, timeout)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout)
            return 1


# --- Second-step codes at sign-in (growing delays) ----------------------------------------
#
# SECURITY: allauth's own limit on wrong MFA codes rides on its ``login_failed`` rate,
# which Threshold turns off in favour of growing delays for passwords; without this limit
# a six-digit code could be guessed without limit once the password is known. An answer
# counts as a wrong one from the moment it is taken, before it is checked, and a right one
# clears the count. Checking the count first and adding a failure only after the check let
# parallel answers all pass the check together: 40 wrong codes at once had 10 checked where
# 5 were allowed.

FREE_SECOND_STEP_FAILURES = 5


def _second_step_key(user: Any) -> str:
    return f"2sv-fail:{user.pk}"


def begin_second_step(user: Any) -> int:
    """Take one second-step answer for checking: 0 if it may be checked, else the seconds to wait.

    The answer is counted as a failure already; call ``clear_second_step_failures`` when it
    turns out right.
    """
    verdict = begin({_second_step_key(user): FREE_SECOND_STEP_FAILURES})
    return 0 if verdict.allowed else max(1, verdict.retry_after)


def clear_second_step_failures(user: Any) -> None:
    cache.delete(_second_step_key(user))


# --- Account recovery (fixed windows) -----------------------------------------------------
#
# SECURITY: every key is made from what the person typed (the account's email, the address
# or number to prove, the contact address) and the client address, never from whether an
# account has them, so an unknown account is limited exactly like a known one and the
# limits tell nothing.

HOUR = 3600
DAY = 24 * HOUR

# Codes sent to prove an address or number of the account.
SEND_PER_TARGET = [(1, 30), (5, HOUR)]
SEND_PER_ACCOUNT = [(10, HOUR), (20, DAY)]
SEND_PER_ADDRESS = [(20, HOUR), (50, DAY)]
# Codes entered: 5 tries per code target, and fewer overall than anyone needs to guess one.
TRIES_PER_TARGET = 5
TRIES_PER_ACCOUNT = [(15, HOUR), (30, DAY)]
TRIES_PER_ADDRESS = [(50, HOUR), (200, DAY)]
# Requests for review: each costs an operator's time.
REQUESTS_PER_CONTACT = [(3, HOUR), (5, DAY)]
REQUESTS_PER_ADDRESS = [(10, HOUR), (20, DAY)]


def _recovery_keys(prefix: str, value: str, limits: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    return [(f"recovery:{prefix}:{digest(value)}", count, window) for count, window in limits]


def send_wait(*, account: str, target: str, ip: str) -> int:
    """Count one recovery code sent; 0 if it may go, else the seconds to wait."""
    return take(
        _recovery_keys("send:target", target, SEND_PER_TARGET)
        + _recovery_keys("send:account", account, SEND_PER_ACCOUNT)
        + _recovery_keys("send:ip", ip or "none", SEND_PER_ADDRESS)
    )


def try_wait(*, purpose: str, account: str, target: str, ip: str) -> int:
    """Count one recovery code entered; 0 if it may be checked, else the seconds to wait."""
    return take(
        _recovery_keys(f"try:{purpose}", f"{account}\n{target}", [(TRIES_PER_TARGET, HOUR)])
        + _recovery_keys("try:account", account, TRIES_PER_ACCOUNT)
        + _recovery_keys("try:ip", ip or "none", TRIES_PER_ADDRESS)
    )


def request_wait(*, contact: str, ip: str) -> int:
    """Count one request for review (its contact code sent); 0 if it may go."""
    return take(
        _recovery_keys("request:contact", contact, REQUESTS_PER_CONTACT)
        + _recovery_keys("request:ip", ip or "none", REQUESTS_PER_ADDRESS)
    )
