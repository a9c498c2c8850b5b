"""Setting up an authenticator app: a secret that holds still, and its QR code."""

from __future__ import annotations

import base64
import io
import secrets
import time
from typing import Any

import segno
from django.contrib.sessions.backends.base import SessionBase

SETUP_SESSION_KEY = "threshold.security.authenticator_app_setup"
NAME_SESSION_KEY = "threshold.security.authenticator_app_name"
SETUP_SECONDS = 30 * 60


def setup_secret(session: SessionBase, user: Any) -> str:
    """The secret being set up for ``user`` in this session, made once and kept.

    allauth makes a new secret on every visit of its set-up page, so a reload after
    scanning would leave the app with a secret the portal no longer expects. We keep ours
    for half an hour, bound to the account, until the app is saved.
    """
    state = session.get(SETUP_SESSION_KEY)
    now = time.time()
    if (
        isinstance(state, dict)
        and state.get("user") == str(user.pk)
        and now - float(state.get("started", 0)) < SETUP_SECONDS
        and state.get("secret")
    ):
        return str(state["secret"])
    secret = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
    session[SETUP_SESSION_KEY] = {"user": str(user.pk), "secret": secret, "started": now}
    return secret


def finish_setup(session: SessionBase, name: str) -> None:
    """The code matched: this secret is spent; keep only the name for the saved method."""
    session.pop(SETUP_SESSION_KEY, None)
    session[NAME_SESSION_KEY] = name


def take_name(session: SessionBase | None) -> str:
    """The name the person gave the app being saved (read once)."""
    return str(session.pop(NAME_SESSION_KEY, "") or "") if session is not None else ""


def qr_svg(url: str) -> str:
    """The otpauth:// URL as an SVG QR code (shown through a data: URI; no inline style)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=5, border=4, xmldecl=False, svgclass=None, lineclass=None
    )
    return buffer.getvalue().decode("utf-8")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
