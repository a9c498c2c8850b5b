"""What accounts learns from the apps above it, registered at start-up.

accounts sits below devices and security and imports neither; allauth's ACCOUNT_ADAPTER lives
here (threshold.accounts.adapter). Each app answers its part from its ``AppConfig.ready``:
devices whether a locked account is refused, and ends sessions ("Sign out everywhere" is an
account page, but devices owns sessions); security which stages a sign-in goes through, whether
a sensitive change needs a fresh sign-in, and whether a phone number may be removed on Your info
(it may be a sign-in method). The Overview likewise shows the notices other apps register
(recovery's "finish setting up your account").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from threshold.accounts.models import PhoneNumber

# (request, user) -> the page shown instead of signing in, or None to go on.
SignInRefusal = Callable[[HttpRequest, Any], HttpResponse | None]
# (request, user) -> None; raises allauth's ImmediateHttpResponse to stop the sign-in.
SignInGate = Callable[[HttpRequest, Any], None]
# allauth's stages -> the stages a sign-in goes through.
StagesRule = Callable[[list[str]], list[str]]
# (app=...) -> whether the change allauth's ``app`` asks about needs a fresh sign-in.
ReauthenticationRule = Callable[..., bool]

# (user=, keep=session key) -> how many of the account's sessions were ended.
SessionEnder = Callable[..., int]
# request -> what an Overview notice shows; None (or nothing) shows no notice.
OverviewNotice = Callable[[HttpRequest], Any]

_refusal: SignInRefusal | None = None
_gate: SignInGate | None = None
_stages: StagesRule | None = None
_reauthentication: ReauthenticationRule | None = None
_session_ender: SessionEnder | None = None
_overview_notices: dict[str, OverviewNotice] = {}


def register_sign_in_refusal(refusal: SignInRefusal, *, gate: SignInGate) -> None:
    """Name the check that may refuse an account once its first step was right (``refusal``),
    and the last gate run again at the moment of sign-in (``gate``)."""
    global _refusal, _gate
    _refusal, _gate = refusal, gate


def register_login_stages(rule: StagesRule) -> None:
    """Name the function that turns allauth's sign-in stages into ours."""
    global _stages
    _stages = rule


def register_reauthentication_rule(rule: ReauthenticationRule) -> None:
    """Name the function that says whether a sensitive change needs a fresh sign-in."""
    global _reauthentication
    _reauthentication = rule


def register_session_ender(ender: SessionEnder) -> None:
    """Name the one function that ends an account's sessions (threshold.devices' ``end_sessions``)."""
    global _session_ender
    _session_ender = ender


def register_overview_notice(name: str, notice: OverviewNotice) -> None:
    """Show what ``notice`` returns on the Overview, as its template's variable ``name``."""
    _overview_notices[name] = notice


def _registered[T](hook: T | None, what: str) -> T:
    if hook is None:
        # SECURITY: never sign in, or allow a sensitive change, with a check left out.
        raise ImproperlyConfigured(f"No app registered {what} for the account adapter.")
    return hook


def sign_in_refusal(request: HttpRequest, user: Any) -> HttpResponse | None:
    return _registered(_refusal, "the sign-in refusal")(request, user)


def ensure_sign_in_allowed(request: HttpRequest, user: Any) -> None:
    _registered(_gate, "the sign-in gate")(request, user)


def login_stages(stages: list[str]) -> list[str]:
    return _registered(_stages, "the sign-in stages")(stages)


def reauthentication_required(*, app: str) -> bool:
    return _registered(_reauthentication, "the reauthentication rule")(app=app)


def end_sessions(*, user: Any, keep: str | None = None) -> int:
    return _registered(_session_ender, "the session ender")(user=user, keep=keep)


def overview_notices(request: HttpRequest) -> dict[str, Any]:
    """{template variable: what its notice shows} for this person's Overview."""
    return {name: notice(request) for name, notice in _overview_notices.items()}


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
