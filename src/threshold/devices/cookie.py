"""The device cookie: a random id that recognises this browser. No database here."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

MAX_AGE = 2 * 365 * 24 * 3600


def cookie_name() -> str:
    return "__Host-threshold_device" if settings.SESSION_COOKIE_SECURE else "threshold_device"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # SECURITY: the id is 256 random bits, so an unsalted hash is enough; a database leak
    # does not give out cookies that would mark a browser as a known device.
    return hashlib.sha256(token.encode()).hexdigest()


def read_token(request: HttpRequest) -> str:
    raw = request.COOKIES.get(cookie_name(), "")
    return raw if 20 <= len(raw) <= 64 else ""


def write(response: HttpResponseBase, token: str) -> None:
    response.set_cookie(
        cookie_name(),
        token,
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
        path="/",
    )
