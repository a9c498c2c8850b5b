import logging
import threading
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from threshold.accounts.hashers import HashingBusy, hashing_pool

logger = logging.getLogger("threshold.hashing")


class AccountPreferencesMiddleware:
    """A signed-in person sees the portal in their own language and time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            translation.activate(user.locale)
            request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class HashingBusyMiddleware:
    """Answers 503 with Retry-After when every password-hashing slot and its queue are taken.

    A POST to a view that hashes a password is admitted to this process's hashing pool before the
    view runs (and leaves it when the response is done), so a flood of sign-in attempts is turned
    away for the price of a page header rather than of a whole sign-in form. A hash elsewhere that
    finds the pool full raises ``HashingBusy``, which becomes the same page.

    SECURITY: the answer comes before any password is checked, so it is the same for right and
    wrong passwords and for unknown accounts, and nothing is recorded as a failed attempt.
    """

    RETRY_AFTER_SECONDS = 2
    HASHING_VIEWS = frozenset(
        {
            "account_login",
            "account_signup",
            "account_reauthenticate",
            "account_change_password",
            "account_set_password",
            "recover_password_new",
        }
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            if getattr(request, "_hashing_admitted", False):
                hashing_pool().leave()

    def process_view(self, request: HttpRequest, view: Callable[..., Any], *args: Any) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or not match or match.url_name not in self.HASHING_VIEWS:
            return None
        if not hashing_pool().admit():
            return self.busy()
        request._hashing_admitted = True  # type: ignore[attr-defined]
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return self.busy() if isinstance(exception, HashingBusy) else None

    def busy(self) -> HttpResponse:
        title = escape(_("Too many sign-ins at once"))
        text = escape(_("Nothing was checked or changed. Wait a few seconds, go back and try again."))
        response = HttpResponse(
            f'<!DOCTYPE html><html lang="{get_language()}"><meta charset="utf-8"><title>{title}</title>'
            f"<h1>{title}</h1><p>{text}</p></html>",
            status=503,
        )
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        # Not one ERROR line per turned-away attempt (Django logs every 5xx): a flood would bury
        # the log. One WARNING a minute per process says how many were turned away.
        response._has_been_logged = True  # type: ignore[attr-defined]
        _turned_away.note()
        return response


class _TurnedAway:
    def __init__(self) -> None:
        self.count = 0
        self.since = time.monotonic()
        self.lock = threading.Lock()

    def note(self) -> None:
        with self.lock:
            self.count += 1
            now = time.monotonic()
            if now - self.since < 60:
                return
            count, seconds, self.count, self.since = self.count, now - self.since, 0, now
        logger.warning(
            "Turned away %d password sign-ins in %.0f s: every hashing slot was busy.", count, seconds
        )


_turned_away = _TurnedAway()
