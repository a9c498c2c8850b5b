"""Signing out the account's other sessions after a change that must not leave them in."""

from __future__ import annotations

from typing import Any

from allauth.usersessions.models import UserSession
from django.http import HttpRequest


def end_other_sessions(*, user: Any, request: HttpRequest | None) -> int:
    current = request.session.session_key if request is not None and hasattr(request, "session") else None
    ended = 0
    for session in UserSession.objects.filter(user=user).exclude(session_key=current or ""):
        # A row whose session is already gone (the key this request had before a password
        # change rotated it) is cleaned up without counting it as a signed-out device.
        alive = session.exists()
        session.end()
        ended += int(alive)
    return ended
