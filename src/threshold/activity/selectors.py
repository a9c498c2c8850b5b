"""Reads over the security events."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from threshold.activity.models import SecurityEvent


def events_for(user: Any, *, limit: int = 20) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-id")[:limit]


def last_sign_in(user: Any) -> SecurityEvent | None:
    return (
        SecurityEvent.objects.filter(user=user, code="account:signin:success")
        .order_by("-occurred_at", "-id")
        .first()
    )
