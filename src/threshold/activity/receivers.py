"""The one bridge from allauth's and django.contrib.auth's signals to the event log."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from threshold.activity.models import Result
from threshold.activity.services import record_event


@receiver(auth_signals.user_logged_in)
def signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from threshold.accounts.services import note_sign_in

    note_sign_in(request=request, user=user)
    from threshold.devices.services import note_sign_in_device

    note_sign_in_device(request=request, user=user)
    from threshold.recovery.services.recovery_completion import cancel_recoveries_after_sign_in

    # The owner signed in: a recovery of the account they did not need is cancelled.
    cancel_recoveries_after_sign_in(request=request, user=user)


@receiver(auth_signals.user_login_failed)
def sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from threshold.accounts.selectors import user_by_email

    email = str(credentials.get("email") or credentials.get("username") or "")
    record_event(
        "account:signin:failure",
        user=user_by_email(email) if email else None,
        request=request,
        subject_label=email[:254],
        result=Result.FAILURE,
        method="password",
    )


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


@receiver(account_signals.password_changed)
@receiver(account_signals.password_set)
def password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from threshold.security.services import note_password_changed

    # Records account:password:change, signs out other sessions, forgets trusted devices, alerts.
    note_password_changed(request=request, user=user)


# A forgotten password is reset by threshold.recovery (allauth's reset pages redirect
# there), whose service records account:password:reset itself.


# allauth.mfa: authenticator apps and passkeys are saved by its pages. Its
# authenticator_reset (recovery codes regenerated) never fires here: Threshold's recovery
# codes are its own (threshold.security), and their services record themselves.


@receiver(mfa_signals.authenticator_added)
def authenticator_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    from threshold.security.services import note_authenticator_added

    note_authenticator_added(request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_removed)
def authenticator_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    from threshold.security.services import note_authenticator_removed

    note_authenticator_removed(request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_used)
def authenticator_used(sender: Any, authenticator: Any, **kwargs: Any) -> None:
    from threshold.security.services import note_authenticator_used

    note_authenticator_used(authenticator=authenticator)


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
