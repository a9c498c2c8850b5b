"""The django.contrib.auth signals the recovery app reacts to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from threshold.recovery.services.recovery_completion import cancel_recoveries_after_sign_in


@receiver(auth_signals.user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # The owner signed in: a recovery of the account they did not need is cancelled.
    cancel_recoveries_after_sign_in(request=request, user=user)
