from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from threshold.recovery.selectors.set_up import access_pass_still_valid
from threshold.verification.sign_in import ACCESS_PASS, access_pass_session_live, proof_of


class ClosingAccountMiddleware:
    """A closing account can be reopened, and nothing else.

    SECURITY: closing ends every session, but signing in again during the window must
    still work so the owner can change their mind; every request of such a session is
    sent to the reopen page, so the account cannot be used until it is reopened. The
    account row is already loaded for ``request.user``, so this costs no query.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "is_closing", False):
            allowed = (reverse("account_reopen"), reverse("account_logout"), "/i18n/", settings.STATIC_URL)
            if not any(request.path.startswith(str(prefix)) for prefix in allowed):
                return redirect("account_reopen")
        return self.get_response(request)


class AccessPassSessionMiddleware:
    """A session signed in with a Temporary Access Pass sets up sign-in methods, and nothing else.

    SECURITY: the pass proves less than the person's own methods would (someone else
    issued it and saw it), so its session may only add what the person lost: every other
    page is sent to the set-up page, including POSTs, which therefore change nothing. The
    session ends when the pass expires or is revoked. Costs nothing outside such sessions
    (the session is already loaded) and one indexed query per request inside one.
    """

    # Reachable by the pass session: prefixes, then exact paths (resolved on first use).
    PREFIX_NAMES = (
        "recovery_set_up",
        "security_add_method",
        "security_recovery_codes",
        "mfa_activate_totp",
        "mfa_add_webauthn",
    )
    EXACT_NAMES = ("security_info", "account_logout", "access_pass_sign_in")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._allowed: tuple[tuple[str, ...], frozenset[str]] | None = None

    def allowed(self) -> tuple[tuple[str, ...], frozenset[str]]:
        if self._allowed is None:
            prefixes = (*(reverse(name) for name in self.PREFIX_NAMES), str(settings.STATIC_URL), "/i18n/")
            # allauth's method pages return to its overview, which is Security info.
            exact = frozenset([reverse(name) for name in self.EXACT_NAMES] + [reverse("mfa_index")])
            self._allowed = (prefixes, exact)
        return self._allowed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if (
            user is None
            or not user.is_authenticated
            or session is None
            or proof_of(request).vouched_by != ACCESS_PASS
        ):
            return self.get_response(request)
        if not access_pass_session_live(request) or not access_pass_still_valid(
            proof_of(request).access_pass
        ):
            logout(request)
            messages.info(
                request,
                _("Your Temporary Access Pass no longer works. Sign in with the method you set up."),
            )
            return redirect("account_login")
        prefixes, exact = self.allowed()
        if request.path not in exact and not any(request.path.startswith(p) for p in prefixes):
            if getattr(user, "must_change_password", False) and request.path == reverse(
                "account_change_password"
            ):
                # AccountPreferencesMiddleware holds such an account there; sending it back
                # to the set-up page would go round in circles.
                return self.get_response(request)
            return redirect("recovery_set_up")
        return self.get_response(request)
