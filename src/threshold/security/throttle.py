"""Limits on second-step codes, shared by every app process through the cache.

SECURITY: allauth's own limit on wrong MFA codes rides on its ``login_failed`` rate,
which Threshold turns off in favour of growing delays for passwords; without this module
a six-digit code could be guessed without limit once the password is known.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.core.cache import cache

from threshold.accounts.throttle import MEMORY_SECONDS, delay_for

FREE_SECOND_STEP_FAILURES = 5


def _failure_key(user: Any) -> str:
    return f"2sv-fail:{user.pk}"


def second_step_wait(user: Any) -> int:
    """Seconds the account must wait before its next second-step code is checked."""
    state = cache.get(_failure_key(user))
    if not state:
        return 0
    failures, last = state
    return max(0, math.ceil(last + delay_for(failures, FREE_SECOND_STEP_FAILURES) - time.time()))


def record_second_step_failure(user: Any) -> None:
    state = cache.get(_failure_key(user))
    failures = state[0] + 1 if state else 1
    cache.set(_failure_key(user), (failures, time.time()), MEMORY_SECONDS)


def clear_second_step_failures(user: Any) -> None:
    cache.delete(_failure_key(user))
