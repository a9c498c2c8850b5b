"""Reads about sign-in methods, two-step verification and recovery codes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from threshold.accounts.models import PhoneNumber
from threshold.security.models import MethodKind, RecoveryCode, SecuritySettings, SignInMethod

RECOVERY_CODES_LOW = 3


# Kinds the sign-in challenge can ask for after the password.
SECOND_STEP_KINDS = (MethodKind.PASSKEY, MethodKind.AUTHENTICATOR_APP, MethodKind.TEXT_MESSAGE)


# Kinds a person can add from Security info.
ADDABLE_KINDS = (MethodKind.PASSKEY, MethodKind.AUTHENTICATOR_APP, MethodKind.TEXT_MESSAGE)


def security_settings(user: Any) -> SecuritySettings | None:
    return SecuritySettings.objects.filter(user=user).select_related("default_method").first()


def sign_in_methods(user: Any) -> list[SignInMethod]:
    """Every method, strongest kind first, then oldest first."""
    methods = list(SignInMethod.objects.filter(user=user).select_related("phone", "authenticator"))
    methods.sort(key=lambda m: (m.strength, m.created_at, m.pk))
    return methods


def method_by_public_id(user: Any, public_id: Any) -> SignInMethod | None:
    return SignInMethod.objects.filter(user=user, public_id=public_id).select_related("phone").first()


def two_step_enabled(user: Any) -> bool:
    """Whether the switch is on (the person's choice, whatever methods remain)."""
    return SecuritySettings.objects.filter(user=user, two_step_enabled=True).exists()


def sign_in_methods_of_kind(user: Any, kind: str) -> QuerySet[SignInMethod]:
    return SignInMethod.objects.filter(user=user, kind=kind)


def second_step_methods(user: Any) -> QuerySet[SignInMethod]:
    """Methods the sign-in challenge can ask for."""
    return SignInMethod.objects.filter(user=user, kind__in=SECOND_STEP_KINDS)


def two_step_required(user: Any) -> bool:
    """Whether sign-in asks for a second method: the switch is on and a method is left.

    Like Google's 2-Step Verification, the switch has no effect without a method; that
    happens only when a phone number is deleted from Your info (which removes its method),
    and the Security info page then says so.
    """
    return two_step_enabled(user) and second_step_methods(user).exists()


def default_method(user: Any, methods: list[SignInMethod] | None = None) -> SignInMethod | None:
    """The method offered first at sign-in: the person's choice, else the strongest."""
    methods = sign_in_methods(user) if methods is None else methods
    if not methods:
        return None
    chosen = SecuritySettings.objects.filter(user=user).values_list("default_method_id", flat=True).first()
    for method in methods:
        if method.pk == chosen:
            return method
    return methods[0]


def passwordless_passkeys(user: Any) -> QuerySet[SignInMethod]:
    """Passkeys that sign the person in on their own (discoverable, with PIN or biometrics)."""
    return SignInMethod.objects.filter(user=user, kind=MethodKind.PASSKEY, passwordless=True)


def recovery_codes_left(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def has_recovery_codes(user: Any) -> bool:
    return RecoveryCode.objects.filter(user=user).exists()


def phones_for_text_messages(user: Any) -> QuerySet[PhoneNumber]:
    """Verified numbers of the account that are not a sign-in method yet."""
    used = SignInMethod.objects.filter(user=user, phone__isnull=False).values("phone_id")
    return PhoneNumber.objects.filter(user=user, verified_at__isnull=False).exclude(pk__in=used)


def has_authenticator_app(user: Any) -> bool:
    return SignInMethod.objects.filter(user=user, kind=MethodKind.AUTHENTICATOR_APP).exists()


def addable_kinds(user: Any) -> list[MethodKind]:
    kinds = []
    for kind in ADDABLE_KINDS:
        if kind == MethodKind.AUTHENTICATOR_APP and has_authenticator_app(user):
            continue  # allauth keeps one authenticator app per account
        kinds.append(kind)
    return kinds


def masked_number(number: str) -> str:
    return f"•••• {number[-4:]}" if len(number) > 4 else number
