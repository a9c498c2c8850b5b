"""Hashing of tokens and codes, so neither cache keys nor the database hold them in the clear."""

from __future__ import annotations

import hashlib


def digest(value: str) -> str:
    """A short stable hash, so cache keys never hold phone numbers or emails."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]
