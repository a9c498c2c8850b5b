"""The allauth and django.contrib.auth signals the devices app reacts to."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver
from django.http import HttpRequest

from threshold.devices import services


@receiver(account_signals.authentication_step_completed)
def proved_again(sender: Any, request: HttpRequest, reauthenticated: bool = False, **kwargs: Any) -> None:
    """A re-authentication (password, code or second method) gives the session a new key."""
    if reauthenticated and request is not None and hasattr(request, "session"):
        services.rotate_session_key(request=request)


@receiver(auth_signals.user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.note_sign_in_device(request=request, user=user)
