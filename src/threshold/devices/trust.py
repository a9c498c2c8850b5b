"""The trusted-device cookie: which browsers may skip the second step. No database here."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

TRUST_DAYS = 30
SALT = "threshold.security.trusted-device"  # as when it lived in security: cookies already given stay good
MAX_ENTRIES = 5


def cookie_name() -> str:
    return "__Host-threshold_trusted" if settings.SESSION_COOKIE_SECURE else "threshold_trusted"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_entries(request: HttpRequest) -> list[tuple[str, str]]:
    """The (device id, token) pairs this browser holds; nothing when the cookie was tampered with."""
    raw = request.COOKIES.get(cookie_name(), "")
    if not raw:
        return []
    try:
        value: Any = signing.loads(raw, salt=SALT, max_age=TRUST_DAYS * 24 * 3600)
    except signing.BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [(str(e[0]), str(e[1])) for e in value if isinstance(e, list | tuple) and len(e) == 2]


def write_entry(request: HttpRequest, response: HttpResponseBase, device_id: str, token: str) -> None:
    """Add one device to this browser's cookie, keeping the newest few (one per account)."""
    entries = [e for e in read_entries(request) if e[0] != device_id]
    entries = [(device_id, token), *entries][:MAX_ENTRIES]
    response.set_cookie(
        cookie_name(),
        signing.dumps(entries, salt=SALT, compress=True),
        max_age=TRUST_DAYS * 24 * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
        path="/",
    )
