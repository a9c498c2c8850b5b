"""Failed sign-in throttling with growing delays, shared by every app process (via the cache).

SECURITY: there is no lock-out an attacker could trigger at will. After a few free
failures each further failure doubles the wait before the next try for that account (and,
with a larger allowance, for that client address), capped at 15 minutes. The account key
is the normalised email, hashed, whether or not an account has it, so the answer for an
unknown email is the same as for a known one.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

FREE_FAILURES_PER_ACCOUNT = 4
FREE_FAILURES_PER_ADDRESS = 20
MAX_DELAY_SECONDS = 15 * 60
MEMORY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def _account_key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"signin-fail:acct:{digest}"


def _address_key(ip: str) -> str:
    return f"signin-fail:ip:{ip or 'none'}"


def delay_for(failures: int, free: int) -> int:
    if failures < free:
        return 0
    return min(2 ** (failures - free + 1), MAX_DELAY_SECONDS)


def _wait(key: str, free: int, now: float) -> int:
    state = cache.get(key)
    if not state:
        return 0
    failures, last = state
    remaining = last + delay_for(failures, free) - now
    return max(0, math.ceil(remaining))


def check(*, email: str, ip: str) -> Verdict:
    now = time.time()
    wait = max(
        _wait(_account_key(email), FREE_FAILURES_PER_ACCOUNT, now),
        _wait(_address_key(ip), FREE_FAILURES_PER_ADDRESS, now),
    )
    return Verdict(allowed=wait == 0, retry_after=wait)


def record_failure(*, email: str, ip: str) -> None:
    now = time.time()
    for key in (_account_key(email), _address_key(ip)):
        state = cache.get(key)
        failures = state[0] + 1 if state else 1
        cache.set(key, (failures, now), MEMORY_SECONDS)


def record_success(*, email: str) -> None:
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
        full_key = f"limit:{key}:{window}:{bucket}"
        cache.add(full_key, 0, window + 60)
        try:
            count = cache.incr(full_key)
        except ValueError:  # expired between add and incr
            cache.set(full_key, 1, window + 60)
            count = 1
        if count > allowed:
            wait = max(wait, math.ceil((bucket + 1) * window - now))
    return wait


def digest(value: str) -> str:
    """A short stable hash, so cache keys never hold phone numbers or emails."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]
