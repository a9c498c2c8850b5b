from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from threshold.devices import cookie, services


class DeviceMiddleware:
    """Ends a session whose device was removed or whose account is locked; sets the device cookie.

    Sits before allauth's UserSessionsMiddleware, so a refused session is not tracked
    again, and links the session to its device on the way out, once that middleware and
    the sign-in have made this session's ``UserSession`` row.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        request._threshold_session_key_before = session.session_key if session is not None else None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            refusal = services.check_session(request=request, user=user)
            if refusal:
                logout(request)
                if refusal == services.Refusal.LOCKED:
                    return redirect("account_locked")
                messages.info(
                    request, _("This device was removed from your account. Sign in again to use it.")
                )
                return redirect("account_login")
        response = self.get_response(request)
        token = getattr(request, "_threshold_device_token", "")
        if token:
            cookie.write(response, token)
        services.link_session(request=request)
        return response
