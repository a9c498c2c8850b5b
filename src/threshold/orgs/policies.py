"""THE one place that decides "may this account do X?".

Services call ``require`` before changing anything an organisation could lock; pages call
``evaluate`` only to draw the lock; allauth adapter hooks delegate here too. Today no
organisation rule exists, so every action is allowed, but every caller already asks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.http import HttpRequest

from threshold.core.decisions import Decision
from threshold.core.errors import PolicyDenied


class Action(StrEnum):
    """Lockable actions, named ``scope:resource:action``."""

    TWO_STEP_ENABLE = "security:two_step:enable"
    TWO_STEP_DISABLE = "security:two_step:disable"
    METHOD_ADD = "security:method:add"
    METHOD_REMOVE = "security:method:remove"
    METHOD_RENAME = "security:method:rename"
    PASSWORD_REMOVE = "security:password:remove"
    RECOVERY_CODES_GENERATE = "security:recovery_codes:generate"
    DEVICE_TRUST = "security:device:trust"
    DEVICE_RENAME = "devices:device:rename"
    DEVICE_REMOVE = "devices:device:remove"
    ACCOUNT_LOCK = "account:account:lock"
    ACCOUNT_CLOSE = "account:account:close"
    DATA_EXPORT = "account:data:export"
    ACCESS_PASS_ISSUE = "recovery:access_pass:issue"
    ACCOUNT_RECOVER = "account:account:recover"


def evaluate(user: Any, action: Action | str) -> Decision:
    """Whether ``user`` may do ``action``, with the reason.

    No organisation policies exist yet (they arrive with the organisations work), so the
    answer is always "allowed".
    """
    return Decision.allow()


def require(user: Any, action: Action | str, *, request: HttpRequest | None = None) -> Decision:
    """Raise ``PolicyDenied`` unless ``user`` may do ``action``; a denial is a security event."""
    decision = evaluate(user, action)
    if not decision.allowed:
        from threshold.activity.models import Result
        from threshold.activity.services import record_event

        record_event(
            "account:policy:deny",
            user=user,
            request=request,
            result=Result.BLOCKED,
            details={
                "action": str(action),
                "reason": decision.reason_code,
                "locked_by": decision.locked_by,
            },
        )
        raise PolicyDenied(decision)
    return decision
