"""Where an organisation's policy meets every request of its members.

- A change a policy forbids (``PolicyDenied`` from any service, allauth's own views
  included) becomes the organisation's message and nothing else happens.
- allauth's email page changes nothing while the organisation manages addresses.
- Sessions end after the organisation's session lifetime, and ask for the password again
  after its sign-in frequency.

The set-up the organisation requires confines the session through the registry of session
restrictions (``orgs.restrictions``, served by ``verification.middleware``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.core.errors import PolicyDenied
from threshold.orgs import policies
from threshold.orgs.policies import Action

EMAIL_VIEWS = frozenset({"account_email", "account_email_verification_sent", "account_confirm_email"})
BACK_TO = (
    ("/your-info/", "your_info"),
    ("/accounts/email/", "your_info"),
    ("/accounts/confirm-email/", "your_info"),
    ("/security/", "security_info"),
    ("/accounts/2fa/", "security_info"),
    ("/devices/", "devices"),
    ("/privacy/", "privacy"),
    ("/organizations/", "organizations"),
)


def _sign_in_times(request: HttpRequest, user: Any) -> list[float]:
    records = get_authentication_records(request, user)
    return [float(r["at"]) for r in records if isinstance(r, dict) and isinstance(r.get("at"), int | float)]


class OrganizationPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and policies.home_organization(user) is not None:
            response = self._session_limits(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], *args: Any) -> HttpResponse | None:
        match = request.resolver_match
        user = getattr(request, "user", None)
        if (
            request.method == "POST"
            and match is not None
            and match.url_name in EMAIL_VIEWS
            and user is not None
            and user.is_authenticated
        ):
            # SECURITY: allauth's pages add, verify, remove and make primary through their own
            # forms; refusing the POST before the view runs is the one place all are covered.
            try:
                policies.require(user, Action.EMAIL_CHANGE, request=request)
            except PolicyDenied as exc:
                return self.process_exception(request, exc)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PolicyDenied):
            return None
        message = exception.decision.sentence
        if request.method == "POST":
            messages.error(request, message)
            return redirect(_back(request))
        return render(request, "orgs/denied.html", {"message": message}, status=403)

    # --- Sessions ---------------------------------------------------------------------------

    def _session_limits(self, request: HttpRequest, user: Any) -> HttpResponse | None:
        lifetime, frequency = policies.session_limits(user)
        if not lifetime and not frequency:
            return None
        times = _sign_in_times(request, user)
        if not times:
            return None
        now = time.time()
        if lifetime and now - min(times) > lifetime:
            # SECURITY: the organisation's limit on how long one sign-in lasts, whatever the
            # activity; the session ends here rather than only on the next cookie expiry.
            logout(request)
            hours = lifetime // 3600
            messages.info(
                request,
                ngettext(
                    "Your organization signs you out after %(hours)d hour. Sign in again to go on.",
                    "Your organization signs you out after %(hours)d hours. Sign in again to go on.",
                    hours,
                )
                % {"hours": hours},
            )
            return redirect(f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")
        if (
            frequency
            and now - max(times) > frequency
            and not request.path.startswith(
                (
                    "/accounts/reauthenticate/",
                    "/accounts/logout/",
                    "/accounts/2fa/reauthenticate/",
                    settings.STATIC_URL,
                )
            )
        ):
            next_url = request.get_full_path() if request.method == "GET" else reverse("overview")
            messages.info(
                request,
                _(
                    "Your organization asks you to sign in again from time to time. Enter your password to go on."
                ),
            )
            return redirect(f"{reverse('account_reauthenticate')}?{urlencode({'next': next_url})}")
        return None


def _back(request: HttpRequest) -> str:
    """Where a refused change returns to: the page it came from, else its section's page."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, {request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    for prefix, name in BACK_TO:
        if request.path.startswith(prefix):
            return reverse(name)
    return reverse("overview")
