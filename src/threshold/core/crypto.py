"""Authenticated encryption (AES-256-GCM) of the few secrets Threshold must read back.

Passwords, codes and tokens are hashed and never read back; an authenticator app's secret
must be, to check its codes, so it is encrypted under ``settings.ENCRYPTION_KEYS``
(``THRESHOLD_ENCRYPTION_KEYS``). A value reads ``enc1:<key id>:<nonce, ciphertext and tag>``
(base64url). The key id names which key sealed it, so a read picks that key directly and a
rotation finds what is left to re-encrypt. New values always use the first key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1"
NONCE_BYTES = 12
KEY_BYTES = 32  # AES-256


class DecryptionError(Exception):
    """A stored value cannot be read: not encrypted, damaged, or sealed under a key no longer configured."""


def new_key() -> str:
    """A fresh key in the form THRESHOLD_ENCRYPTION_KEYS takes: 32 random bytes in base64url."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def decode_key(text: str) -> bytes | None:
    """The key written as ``text`` (either base64 alphabet, padded or not), or None."""
    text = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def key_id(key: bytes) -> str:
    """A short, stable name for a key that reveals nothing about it."""
    return hashlib.sha256(b"threshold encryption key id\0" + key).hexdigest()[:8]


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Seal ``plaintext`` under the newest key.

    ``purpose`` (e.g. ``"mfa"``) is bound to the value as associated data: a value sealed
    for one purpose does not open as another.
    """
    key = _keys()[0]
    kid = key_id(key)
    nonce = os.urandom(NONCE_BYTES)  # SECURITY: random 96-bit nonce; far below GCM's 2^32 limit per key
    sealed = _aead(key).encrypt(nonce, plaintext.encode("utf-8"), _associated(purpose, kid))
    return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii').rstrip('=')}"


def decrypt(value: str, *, purpose: str) -> str:
    """Open a value made by :func:`encrypt` with whichever configured key sealed it."""
    kid, payload = _parse(value)
    key = _by_id().get(kid)
    if key is None:
        raise DecryptionError(
            f"sealed under the key with id {kid}, which is not in THRESHOLD_ENCRYPTION_KEYS; add it back"
        )
    try:
        plain = _aead(key).decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:], _associated(purpose, kid))
    except InvalidTag as exc:
        raise DecryptionError("damaged, or sealed for another purpose") from exc
    return plain.decode("utf-8")


def is_current(value: str) -> bool:
    """Whether ``value`` is sealed under the newest key (nothing for a rotation to do)."""
    return is_encrypted(value) and value.split(":", 2)[1] == key_id(_keys()[0])


def _parse(value: str) -> tuple[str, bytes]:
    if not is_encrypted(value):
        raise DecryptionError("not an encrypted value")
    parts = value.split(":")
    if len(parts) != 3 or not parts[2]:
        raise DecryptionError("not an encrypted value")
    try:
        payload = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("damaged") from exc
    if len(payload) <= NONCE_BYTES + 16:
        raise DecryptionError("damaged")
    return parts[1], payload


def _associated(purpose: str, kid: str) -> bytes:
    return f"threshold:{purpose}:{kid}".encode()


def _keys() -> list[bytes]:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("No encryption key is configured (THRESHOLD_ENCRYPTION_KEYS).")
    return keys


def _by_id() -> dict[str, bytes]:
    return {key_id(key): key for key in _keys()}


@functools.lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)
