"""When and from where each session was last seen, without a database write on every page;
and the end of a session left unused for the idle time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import ngettext

# How many sessions each app process remembers having recorded recently.
REMEMBERED_SESSIONS = 20_000
# When this session was last in use (time.time()), kept in the session itself.
SESSION_USED_AT = "threshold.used_at"


class SessionIdleMiddleware:
    """Ends a signed-in session that was not used for ``SESSION_IDLE_SECONDS``.

    Only sessions that end with the browser (no "Keep me signed in"): those keep their 30
    days. The time of last use lives in the session, which every request reads anyway, so
    the check costs no query; it is written back at most once per
    ``SESSION_ACTIVITY_INTERVAL``, and that save also moves the session's expiry on the
    server (threshold.accounts.session_store), so an unused session is gone from the server
    too, whether or not its browser ever comes back.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and session is not None and user.is_authenticated:
            used_at = session.get(SESSION_USED_AT)
            idle = settings.SESSION_IDLE_SECONDS
            if (
                isinstance(used_at, int | float)
                and session.get_expire_at_browser_close()
                and time.time() - used_at > idle
            ):
                # SECURITY: a browser left open and unused (a shared or stolen computer) does
                # not stay signed in; logout() also records the sign-out.
                logout(request)
                hours = max(1, idle // 3600)
                messages.info(
                    request,
                    ngettext(
                        "You were signed out after %(hours)d hour without activity. Sign in again to go on.",
                        "You were signed out after %(hours)d hours without activity. Sign in again to go on.",
                        hours,
                    )
                    % {"hours": hours},
                )
                next_url = request.get_full_path() if request.method == "GET" else reverse("overview")
                return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
        response = self.get_response(request)
        user = getattr(request, "user", None)  # signed in or out by this request
        if user is not None and session is not None and user.is_authenticated:
            used_at = session.get(SESSION_USED_AT)
            now = time.time()
            if not isinstance(used_at, int | float) or now - used_at >= settings.SESSION_ACTIVITY_INTERVAL:
                session[SESSION_USED_AT] = now
        return response


class SessionActivityMiddleware:
    """Replaces allauth's ``UserSessionsMiddleware`` (``USERSESSIONS_TRACK_ACTIVITY``).

    allauth records IP address, user agent and "last seen" of the session in a write
    transaction on every signed-in request. On SQLite each such write takes the database's one
    write lock, so concurrent page views queue behind each other (README, "Benchmarks"). This
    middleware makes the same allauth call, but skips it when this process recorded the same
    session from the same address and user agent less than ``SESSION_ACTIVITY_INTERVAL`` seconds
    ago.

    SECURITY: a new address or user agent is still recorded on the first request that shows it
    (allauth's ``session_client_changed`` signal fires as before); only "last seen" may lag, by
    at most the interval.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._recorded: OrderedDict[str, tuple[float, str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._ua_length = UserSession._meta.get_field("user_agent").max_length or 512

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._track(request)
        return self.get_response(request)

    def _track(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is None or session is None or not user.is_authenticated or not session.session_key:
            return
        key = session.session_key
        ip = get_adapter().get_client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[: self._ua_length]
        now = time.monotonic()
        with self._lock:
            last = self._recorded.get(key)
        if (
            last is not None
            and last[1] == ip
            and last[2] == user_agent
            and now - last[0] < settings.SESSION_ACTIVITY_INTERVAL
        ):
            return
        # What allauth's UserSessionsMiddleware does for each request, through its public manager.
        UserSession.objects.create_from_request(request, user=user, session=session)
        with self._lock:
            self._recorded[key] = (now, ip, user_agent)
            self._recorded.move_to_end(key)
            while len(self._recorded) > REMEMBERED_SESSIONS:
                self._recorded.popitem(last=False)
