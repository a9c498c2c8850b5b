"""allauth's and django.contrib.auth's signals that become events here, with nothing else to do.

A signal that calls another app's services is received by that app (its receivers.py).
"""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from threshold.activity.models import Result
from threshold.activity.services import record_event


@receiver(auth_signals.user_logged_out)
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_event("account:signout", user=user, request=request)


@receiver(account_signals.user_signed_up)
def signed_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_event("account:create", user=user, request=request)


@receiver(account_signals.email_confirmed)
def email_verified(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    record_event(
        "account:email:verify",
        user=email_address.user,
        request=request,
        details={"email": email_address.email},
    )


@receiver(account_signals.email_added)
def email_added(sender: Any, request: Any, user: Any, email_address: Any, **kwargs: Any) -> None:
    record_event("account:email:add", user=user, request=request, details={"email": email_address.email})


@receiver(account_signals.email_removed)
def email_removed(sender: Any, request: Any, user: Any, email_address: Any, **kwargs: Any) -> None:
    record_event(
        "account:email:remove",
        user=user,
        request=request,
        # A removed address is told about its removal only if it had been verified.
        details={"email": email_address.email, "was_verified": bool(email_address.verified)},
    )


@receiver(account_signals.email_changed)
def primary_email_changed(
    sender: Any, request: Any, user: Any, from_email_address: Any, to_email_address: Any, **kwargs: Any
) -> None:
    record_event(
        "account:email:primary",
        user=user,
        request=request,
        details={
            "from": getattr(from_email_address, "email", ""),
            "to": getattr(to_email_address, "email", ""),
        },
    )


@receiver(mfa_signals.authentication_failed)
def authenticator_code_failed(
    sender: Any, request: Any, user: Any, authenticator: Any, reauthentication: bool = False, **kwargs: Any
) -> None:
    # Wrong codes at the sign-in challenge are recorded by threshold.security itself.
    if reauthentication:
        record_event(
            "account:reauth:failure",
            user=user,
            request=request,
            method=authenticator.type,
            result=Result.FAILURE,
        )
