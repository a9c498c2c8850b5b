"""What allauth's sign-in hooks ask the devices app: is this account locked?"""

from __future__ import annotations

from typing import Any

from allauth.core.exceptions import ImmediateHttpResponse
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from threshold.devices import services


def refuse_locked(request: HttpRequest, user: Any) -> HttpResponse | None:
    """The "account locked" page instead of a sign-in, recorded; None for an unlocked account.

    SECURITY: asked only after the password (or other first step) was right, so the lock
    tells nothing about an account to someone who does not already know its password.
    """
    if not getattr(user, "is_locked", False):
        return None
    services.note_locked_sign_in(user=user, request=request)
    return redirect("account_locked")


def ensure_not_locked(request: HttpRequest, user: Any) -> None:
    user.refresh_from_db(fields=["locked_at"])
    response = refuse_locked(request, user)
    if response is not None:
        raise ImmediateHttpResponse(response)
