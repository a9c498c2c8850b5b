"""The ways the sign-in challenge offers for the second step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.methods import (
    default_method,
    masked_number,
    recovery_codes_left,
    sign_in_methods,
)


@dataclass(frozen=True)
class SecondStepOption:
    """One way to finish signing in: a method, or a recovery code."""

    key: str
    kind: str  # a MethodKind value, or "recovery_code"
    label: str
    hint: str = ""
    method: SignInMethod | None = None


RECOVERY_OPTION_KEY = "recovery-code"


PASSKEY_OPTION_KEY = "passkey"


def method_key(method: SignInMethod) -> str:
    if method.kind == MethodKind.AUTHENTICATOR_APP:
        return "app"
    if method.kind == MethodKind.PASSKEY:
        return PASSKEY_OPTION_KEY  # one option: the browser offers whichever of them is at hand
    return f"{method.kind.replace('_', '-')}-{method.public_id}"


def second_step_options(user: Any) -> list[SecondStepOption]:
    """The ways this account can finish signing in, the default one first."""
    methods = sign_in_methods(user)
    first = default_method(user, methods)
    ordered = ([first] if first else []) + [m for m in methods if m != first]
    options = []
    passkeys = [m for m in ordered if m.kind == MethodKind.PASSKEY]
    for method in ordered:
        if method.kind == MethodKind.PASSKEY:
            if method is passkeys[0]:
                label = method.name if len(passkeys) == 1 else str(_("Passkey or security key"))
                hint = str(_("Use your passkey or security key"))
                options.append(SecondStepOption(PASSKEY_OPTION_KEY, method.kind, label, hint, method))
            continue
        if method.kind == MethodKind.TEXT_MESSAGE and method.phone is not None:
            hint = str(_("Text a code to %(number)s")) % {"number": masked_number(method.phone.number)}
        else:
            hint = str(_("Enter the code from your authenticator app"))
        options.append(SecondStepOption(method_key(method), method.kind, method.name, hint, method))
    if recovery_codes_left(user):
        options.append(
            SecondStepOption(
                RECOVERY_OPTION_KEY,
                "recovery_code",
                str(_("Recovery code")),
                str(_("Enter one of the recovery codes you saved")),
            )
        )
    return options


# What this session's second step at sign-in was done with (see ``services.challenge.verify_second_step``).
SECOND_STEP_SESSION_KEY = "threshold.security.second_step"
