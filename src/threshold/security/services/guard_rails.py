"""Guard rails on removing sign-in methods: what may go, under the person's settings lock."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.utils.translation import gettext as _

from threshold.core.decisions import Decision
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security.models import MethodKind, SecuritySettings, SignInMethod
from threshold.security.selectors.methods import (
    SECOND_STEP_KINDS,
    passwordless_passkeys,
    second_step_methods,
    sign_in_methods_of_kind,
    two_step_enabled,
)


def settings_for_update(user: Any) -> SecuritySettings:
    """The person's settings row, locked, so concurrent changes to methods queue up."""
    SecuritySettings.objects.get_or_create(user=user)
    return SecuritySettings.objects.select_for_update().get(user=user)


def removal_decision(*, user: Any, method: SignInMethod) -> Decision:
    """Whether ``method`` may be removed now, and if not, why and what to do instead."""
    decision = policies.evaluate(user, Action.METHOD_REMOVE)
    if not decision.allowed:
        return decision
    others = second_step_methods(user).exclude(pk=method.pk).exists()
    if two_step_enabled(user) and method.kind in SECOND_STEP_KINDS and not others:
        return Decision.deny(
            "last_method",
            _(
                "This is your only sign-in method, and two-step verification needs one. "
                "Add another method first, or turn off two-step verification."
            ),
        )
    if method.is_passkey and not sign_in_methods_of_kind(user, MethodKind.PASSKEY).exclude(pk=method.pk):
        decision = policies.evaluate(user, Action.LAST_PASSKEY_REMOVE)
        if not decision.allowed:
            return decision
    if (
        method.is_passkey
        and method.passwordless
        and not has_password(user)
        and not passwordless_passkeys(user).exclude(pk=method.pk).exists()
    ):
        # SECURITY: without a password, this passkey is the only way in short of an email
        # reset; removing it by mistake (or by someone at an unlocked computer) would
        # leave the person out of their own account.
        return Decision.deny(
            "last_passkey",
            _(
                "This is the only passkey you sign in with, and your account has no password. "
                "Set a password or add another passkey first."
            ),
        )
    return Decision.allow()


def has_password(user: Any) -> bool:
    """Read from the database, not the request's copy: another request may have just changed it."""
    stored = get_user_model().objects.filter(pk=user.pk).values_list("password", flat=True).first()
    return bool(stored) and is_password_usable(stored)
