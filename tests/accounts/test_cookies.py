"""No cookie carries personal data: messages live in the session, not in a cookie of their own."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any
from urllib.parse import unquote

import pytest
from django.core import signing
from django.test import Client

from tests.conftest import PASSWORD
from threshold.accounts.models import User

pytestmark = pytest.mark.django_db


def readings(value: str) -> list[str]:
    """Every way a cookie's value could be read: as sent, and each part base64- or zlib-decoded.

    Django's signed cookies are ``payload:signature`` pieces, the payload URL-safe base64,
    with a leading "." when it is zlib-compressed.
    """
    found = [value, unquote(value)]
    for text in list(found):
        for part in text.replace('"', "").split(":"):
            compressed = part.startswith(".")
            part = part.lstrip(".")
            try:
                raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                continue
            if compressed:
                try:
                    raw = zlib.decompress(raw)
                except zlib.error:
                    continue
            found.append(raw.decode("utf-8", "replace"))
    return found


def personal_data_in_cookies(client: Client, user: User) -> list[str]:
    needles = [user.email, user.given_name, user.family_name]
    return [
        name
        for name, morsel in client.cookies.items()
        if any(needle.lower() in reading.lower() for reading in readings(morsel.value) for needle in needles)
    ]


def test_the_decoder_finds_an_email_in_a_signed_compressed_cookie() -> None:
    # The check below is only worth something if it can see through Django's signed cookies.
    value = signing.dumps(["Successfully signed in as ada@example.com."] * 5, compress=True)
    assert value.startswith(".")
    assert any("ada@example.com" in reading for reading in readings(value))


def test_signing_in_leaves_no_personal_data_in_any_cookie(client: Client, user: User) -> None:
    response: Any = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert personal_data_in_cookies(client, user) == []
    page = client.get(response["Location"]).content.decode()
    # The message is still shown, from the session, and only once.
    assert f"Successfully signed in as {user.email}." in page
    assert "Successfully signed in" not in client.get(response["Location"]).content.decode()
    assert personal_data_in_cookies(client, user) == []


def test_signing_out_leaves_no_personal_data_in_any_cookie(signed_in_client: Client, user: User) -> None:
    signed_in_client.post("/accounts/logout/")
    assert personal_data_in_cookies(signed_in_client, user) == []
