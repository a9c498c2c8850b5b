"""What accounts asks of the apps above it, registered at start-up.

allauth's ACCOUNT_ADAPTER lives in accounts (threshold.accounts.adapter), below devices and
security, and imports neither. Each answers its part of a sign-in from its ``AppConfig.ready``:
devices whether a locked account is refused, security which stages a sign-in goes through and
whether a sensitive change needs a fresh sign-in; devices also ends sessions ("Sign out
everywhere" is an account page, but devices owns sessions). The Overview likewise shows the notices
other apps register (recovery's "finish setting up your account").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

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
