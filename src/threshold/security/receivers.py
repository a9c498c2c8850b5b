"""The allauth signals the security app reacts to."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

from threshold.security.services import method_use, methods, passwords


@receiver(account_signals.password_changed)
@receiver(account_signals.password_set)
def password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Records account:password:change, signs out other sessions, forgets trusted devices, alerts.
    passwords.note_password_changed(request=request, user=user)


# A forgotten password is reset by threshold.recovery (allauth's reset pages redirect
# there), whose service records account:password:reset itself.


# allauth.mfa: authenticator apps and passkeys are saved by its pages. Its
# authenticator_reset (recovery codes regenerated) never fires here: Threshold's recovery
# codes are its own, and their services record themselves.


@receiver(mfa_signals.authenticator_added)
def authenticator_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    methods.note_authenticator_added(request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_removed)
def authenticator_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    methods.note_authenticator_removed(request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_used)
def authenticator_used(sender: Any, authenticator: Any, **kwargs: Any) -> None:
    method_use.note_authenticator_used(authenticator=authenticator)
