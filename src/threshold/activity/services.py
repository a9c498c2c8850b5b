"""The only writer of security events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.core.context import RequestContext, context_of


def record_event(
    code: str,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    context: RequestContext | None = None,
    actor: Any = None,
    subject_label: str = "",
    result: Result = Result.SUCCESS,
    method: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> SecurityEvent:
    """Append one event of a catalogued type.

    ``user`` is the account the event is about (None for an unknown email). ``actor`` is who
    did it, when not the account holder (an admin, the system). The request's context is
    parsed once and snapshotted with the row.
    """
    event_type = catalog.get(code)
    ctx = context or context_of(request)
    subject = user if user is not None and getattr(user, "pk", None) else None
    actor = actor if actor is not None else subject
    return SecurityEvent.objects.create(
        occurred_at=occurred_at or timezone.now(),
        code=event_type.code,
        result=result,
        user=subject,
        subject_public_id=getattr(subject, "public_id", None),
        subject_label=subject_label or (getattr(subject, "email", "") if subject else ""),
        actor_public_id=getattr(actor, "public_id", None) if actor is not None else None,
        actor_label=(getattr(actor, "email", "") or str(actor)) if actor is not None else "",
        ip=ctx.ip or None,
        country=ctx.country,
        user_agent=ctx.user_agent,
        device_label=ctx.device.label if ctx.user_agent else "",
        method=method,
        details=details or {},
    )
