"""Hashing of tokens and codes, so neither cache keys nor the database hold them in the clear."""

from __future__ import annotations

import hashlib

from django.utils.crypto import salted_hmac


def digest(value: str) -> str:
    """A short stable hash, so cache keys never hold phone numbers or emails."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def keyed_hash(*, salt: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` keyed with SECRET_KEY and ``salt`` (one salt per kind of secret).

    SECURITY: a stolen database does not reveal what was hashed, even a six-digit code whose
    bare SHA-256 is reversed by trying all million, because the key is not in the database.
    The salt keeps one kind of secret from ever matching another's hash. Changing a salt
    invalidates every stored hash of that kind.
    """
    return salted_hmac(salt, message, algorithm="sha256").hexdigest()
