"""What the accounts app learns from the apps above it, registered at start-up.

accounts sits below security and imports none of it. A phone number that receives sign-in
codes is also a sign-in method, so removing it on Your info needs security's consent;
security registers that guard here from ``SecurityConfig.ready``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

if TYPE_CHECKING:
    from threshold.accounts.models import PhoneNumber


class PhoneRemovalGuard(Protocol):
    def ensure_phone_removable(self, *, user: Any, phone: PhoneNumber, request: HttpRequest | None) -> Any:
        """Raise ``core.errors.Refused`` if the number must stay; return what goes with it (or None).

        Called inside the transaction that removes the number.
        """
        ...

    def note_phone_removed(self, *, user: Any, request: HttpRequest | None, method: Any) -> None:
        """The number went, and ``method`` (what ``ensure_phone_removable`` returned) with it."""
        ...


_phone_removal: PhoneRemovalGuard | None = None


def register_phone_removal_guard(guard: PhoneRemovalGuard) -> None:
    """Name what decides whether a phone number may be removed (security, at start-up)."""
    global _phone_removal
    _phone_removal = guard


def phone_removal_guard() -> PhoneRemovalGuard:
    if _phone_removal is None:
        raise ImproperlyConfigured("No phone removal guard registered: is threshold.security installed?")
    return _phone_removal
