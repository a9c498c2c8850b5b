"""Recovery codes: how they are made, normalised and stored hashed. Pure functions.

Text-message codes are threshold.accounts.codes', shared with phone verification.
"""

from __future__ import annotations

import hashlib
import secrets

from django.utils.crypto import constant_time_compare

RECOVERY_CODE_COUNT = 10
# Crockford's base32 without the letters people mistake for digits (i, l, o, u).
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_CODE_LENGTH = 12  # 60 random bits


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


_LOOK_ALIKES = str.maketrans("oilu", "011v")


def normalize_recovery_code(value: str) -> str:
    """What the person typed, as stored: case, spaces and dashes ignored, look-alikes mapped."""
    value = "".join(value.split()).replace("-", "").lower()
    value = value.translate(_LOOK_ALIKES)
    if len(value) != RECOVERY_CODE_LENGTH or any(ch not in RECOVERY_ALPHABET for ch in value):
        return ""
    return value


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_recovery_code(normalized: str, salt: str) -> str:
    # SECURITY: a recovery code carries 60 random bits, unlike a password, so a salted
    # SHA-256 is out of reach of offline guessing; a slow hash would only make every
    # sign-in with a code ten times slower.
    return hashlib.sha256(f"{salt}:{normalized}".encode()).hexdigest()


def recovery_code_matches(normalized: str, salt: str, code_hash: str) -> bool:
    return constant_time_compare(hash_recovery_code(normalized, salt), code_hash)
