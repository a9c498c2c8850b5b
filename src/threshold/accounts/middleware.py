import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation


class AccountPreferencesMiddleware:
    """A signed-in person sees the portal in their own language and time zone.

    Also holds an account whose password was issued by someone else (``createadmin``) on
    the change-password page until the person has chosen their own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            translation.activate(user.locale)  # type: ignore[union-attr]
            request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))  # type: ignore[union-attr]
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if getattr(user, "must_change_password", False):
                allowed = {
                    reverse("account_change_password"),
                    reverse("account_logout"),
                    reverse("account_reauthenticate"),
                }
                if request.path not in allowed and not request.path.startswith("/static/"):
                    return redirect("account_change_password")
        else:
            timezone.deactivate()
        return self.get_response(request)
