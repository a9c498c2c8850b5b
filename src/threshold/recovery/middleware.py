from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


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
