"""What the Security info page shows, and the next step it suggests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from threshold.devices.selectors import active_trusted_devices
from threshold.security.models import MethodKind, ScheduledRemoval, SignInMethod
from threshold.security.selectors.challenge import method_key
from threshold.security.selectors.methods import (
    RECOVERY_CODES_LOW,
    SECOND_STEP_KINDS,
    addable_kinds,
    default_method,
    has_recovery_codes,
    recovery_codes_left,
    security_settings,
    sign_in_methods,
)
from threshold.security.selectors.removal_wait import pending_removals


@dataclass(frozen=True)
class NextStep:
    level: str  # "good", "warn" or "weak"
    title: Promise | str
    message: Promise | str
    action_label: Promise | str = ""
    action_url: str = ""
    action_post: bool = False


@dataclass
class SecurityInfo:
    methods: list[SignInMethod]
    default: SignInMethod | None
    two_step_enabled: bool
    two_step_changed_at: Any
    recovery_codes_left: int
    has_recovery_codes: bool
    trusted_devices: int
    addable_kinds: list[MethodKind]
    status: NextStep
    weakest_only: bool = False
    has_password: bool = True
    signs_in_with_passkey: bool = False  # at least one passkey signs in on its own
    # Removals waiting out the wait; each of those methods also carries ``scheduled_removal``.
    pending_removals: list[ScheduledRemoval] = field(default_factory=list)


def security_info(user: Any) -> SecurityInfo:
    methods = sign_in_methods(user)
    waiting = list(pending_removals(user))
    by_method = {removal.method_id: removal for removal in waiting}
    for method in methods:
        method.scheduled_removal = by_method.get(method.pk)  # type: ignore[attr-defined]
        method.confirm_key = method_key(method)  # type: ignore[attr-defined]
    settings_row = security_settings(user)
    enabled = bool(settings_row and settings_row.two_step_enabled)
    left = recovery_codes_left(user)
    weakest_only = bool(methods) and all(m.kind == MethodKind.TEXT_MESSAGE for m in methods)
    has_password = user.has_usable_password()
    return SecurityInfo(
        methods=methods,
        default=default_method(user, methods),
        two_step_enabled=enabled,
        two_step_changed_at=settings_row.two_step_changed_at if settings_row else None,
        recovery_codes_left=left,
        has_recovery_codes=has_recovery_codes(user),
        trusted_devices=active_trusted_devices(user).count(),
        addable_kinds=addable_kinds(user),
        status=next_step(
            methods=methods,
            enabled=enabled,
            codes_left=left,
            weakest_only=weakest_only,
            has_password=has_password,
        ),
        weakest_only=weakest_only,
        has_password=has_password,
        signs_in_with_passkey=any(m.kind == MethodKind.PASSKEY and m.passwordless for m in methods),
        pending_removals=waiting,
    )


def next_step(
    *,
    methods: list[SignInMethod],
    enabled: bool,
    codes_left: int,
    weakest_only: bool,
    has_password: bool = True,
) -> NextStep:
    """How well the account is protected, and the one change that would help most."""
    if not has_password:
        return _passwordless_step(methods)
    if not methods and not enabled:
        return NextStep(
            "weak",
            _("Only your password protects your account"),
            _(
                "Add a passkey or an authenticator app, then turn on two-step verification, so a stolen password is not enough."
            ),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    usable = any(m.kind in SECOND_STEP_KINDS for m in methods)
    if not enabled:
        return NextStep(
            "weak",
            _("Two-step verification is off"),
            _("Turn it on so that signing in needs your password and one of your sign-in methods."),
            _("Turn on two-step verification"),
            reverse("security_two_step_on"),
            action_post=True,
        )
    if not usable:
        return NextStep(
            "weak",
            _("Two-step verification has no method left"),
            _("Add a sign-in method: until you do, your password alone lets you in."),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    if codes_left == 0:
        return NextStep(
            "warn",
            _("You have no recovery codes"),
            _("Recovery codes get you in when you can't use your other methods."),
            _("Get recovery codes"),
            reverse("security_recovery_codes_new"),
        )
    if codes_left <= RECOVERY_CODES_LOW:
        return NextStep(
            "warn",
            ngettext(
                "You have %(count)d recovery code left",
                "You have %(count)d recovery codes left",
                codes_left,
            )
            % {"count": codes_left},
            _("Get a new set before you run out; the old codes stop working."),
            _("Get new recovery codes"),
            reverse("security_recovery_codes_new"),
        )
    if weakest_only:
        return NextStep(
            "warn",
            _("Text messages are your only method"),
            _("Text messages are the weakest method. Add an authenticator app as well."),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    if not any(m.kind == MethodKind.PASSKEY for m in methods):
        return NextStep(
            "good",
            _("Your account is well protected"),
            _(
                "Signing in needs your password and one of your sign-in methods. "
                "For the strongest protection, add a passkey: it can't be phished."
            ),
            _("Add a passkey"),
            reverse("mfa_add_webauthn"),
        )
    return NextStep(
        "good",
        _("Your account is well protected"),
        _("Signing in needs your password and one of your sign-in methods."),
    )


def _passwordless_step(methods: list[SignInMethod]) -> NextStep:
    """A passwordless account: its passkeys are the way in, and email the way back."""
    passkeys = [m for m in methods if m.kind == MethodKind.PASSKEY and m.passwordless]
    if not passkeys:
        return NextStep(
            "weak",
            _("You have no password and no passkey"),
            _("Set a password so you can sign in again; until then only an email reset gets you in."),
            _("Set a password"),
            reverse("account_set_password"),
        )
    if len(passkeys) == 1:
        return NextStep(
            "warn",
            _("You sign in with one passkey"),
            _("Add a second passkey, on another device, so losing one doesn't lock you out."),
            _("Add a passkey"),
            reverse("mfa_add_webauthn"),
        )
    return NextStep(
        "good",
        _("Your account is well protected"),
        _("You sign in with a passkey: there is no password to steal or phish."),
    )
