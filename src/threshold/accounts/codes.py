"""One-time codes sent to people: generated at random, stored only as a keyed hash."""

from __future__ import annotations

import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

CODE_DIGITS = 6


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(*, purpose: str, user_id: int, target: str, code: str) -> str:
    """HMAC-SHA256 keyed with SECRET_KEY, bound to what the code is for.

    SECURITY: a stolen database does not reveal live codes (a bare SHA-256 of six digits
    is reversed by trying all million), and a code for one number or account cannot be
    replayed against another because purpose, account and target are in the message.
    """
    message = f"{purpose}:{user_id}:{target}:{code}"
    return salted_hmac("threshold.accounts.codes", message, algorithm="sha256").hexdigest()


def code_matches(*, stored_hash: str, purpose: str, user_id: int, target: str, code: str) -> bool:
    candidate = hash_code(purpose=purpose, user_id=user_id, target=target, code=code)
    return constant_time_compare(stored_hash, candidate)
