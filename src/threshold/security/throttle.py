"""Limits on second-step codes, shared by every app process through the cache.

SECURITY: allauth's own limit on wrong MFA codes rides on its ``login_failed`` rate,
which Threshold turns off in favour of growing delays for passwords; without this module
a six-digit code could be guessed without limit once the password is known.

SECURITY: an answer counts as a wrong one from the moment it is taken, before it is
checked, and a right one clears the count (``accounts.throttle.begin``). Checking the
count first and adding a failure only after the check let parallel answers all pass the
check together: 40 wrong codes at once had 10 checked where 5 were allowed.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from threshold.accounts import throttle

FREE_SECOND_STEP_FAILURES = 5


def _failure_key(user: Any) -> str:
    return f"2sv-fail:{user.pk}"


def begin_second_step(user: Any) -> int:
    """Take one second-step answer for checking: 0 if it may be checked, else the seconds to wait.

    The answer is counted as a failure already; call ``clear_second_step_failures`` when it
    turns out right.
    """
    verdict = throttle.begin({_failure_key(user): FREE_SECOND_STEP_FAILURES})
    return 0 if verdict.allowed else max(1, verdict.retry_after)


def clear_second_step_failures(user: Any) -> None:
    cache.delete(_failure_key(user))
