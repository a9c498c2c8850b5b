"""The django.contrib.auth signals the accounts app reacts to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from threshold.accounts import selectors, services
from threshold.activity.models import Result
from threshold.activity.services import record_event


@receiver(auth_signals.user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Connected before the devices and recovery apps' own (INSTALLED_APPS order): the
    # sign-in is recorded first, then its device noted, then recoveries cancelled.
    services.note_sign_in(request=request, user=user)


@receiver(auth_signals.user_login_failed)
def sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    email = str(credentials.get("email") or credentials.get("username") or "")
    record_event(
        "account:signin:failure",
        user=selectors.user_by_email(email) if email else None,
        request=request,
        subject_label=email[:254],
        result=Result.FAILURE,
        method="password",
    )
