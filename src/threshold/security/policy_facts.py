"""What security hands down to the layers below it, which cannot import it.

``SecurityConfig.ready`` registers ``METHOD_FACTS`` with organisation policy
(``policies.register_method_facts``) and ``PHONE_REMOVAL`` with accounts
(``registry.register_phone_removal_guard``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest

from threshold.accounts.models import PhoneNumber
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.methods import second_step_methods, two_step_required
from threshold.security.services.methods import ensure_phone_removable, note_phone_removed


class SecurityMethodFacts:
    def two_step_required(self, user: Any) -> bool:
        return two_step_required(user)

    def has_second_step_method(self, user: Any) -> bool:
        return second_step_methods(user).exists()

    def has_passkey(self, user: Any) -> bool:
        return SignInMethod.objects.filter(user=user, kind=MethodKind.PASSKEY).exists()

    def has_method_added_since(self, user: Any, since: datetime) -> bool:
        return SignInMethod.objects.filter(user=user, created_at__gte=since).exists()


METHOD_FACTS = SecurityMethodFacts()


class SecurityPhoneRemoval:
    """accounts' guard on removing a phone number that is also a text-message sign-in method."""

    def ensure_phone_removable(self, *, user: Any, phone: PhoneNumber, request: HttpRequest | None) -> Any:
        return ensure_phone_removable(user=user, phone=phone, request=request)

    def note_phone_removed(self, *, user: Any, request: HttpRequest | None, method: Any) -> None:
        note_phone_removed(user=user, request=request, method=method)


PHONE_REMOVAL = SecurityPhoneRemoval()
