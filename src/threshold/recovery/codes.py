"""Temporary Access Passes: how a pass is made, normalised and stored keyed-hashed. Pure functions."""

from __future__ import annotations

import secrets

from threshold.verification.hashing import keyed_hash

# Crockford's base32 without the letters people mistake for digits (i, l, o, u), in capitals:
# a pass may be read out over the telephone by whoever issued it.
ACCESS_PASS_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ACCESS_PASS_LENGTH = 16  # 80 random bits
ACCESS_PASS_GROUP = 4

_LOOK_ALIKES = str.maketrans("OILU", "011V")


def new_access_pass() -> str:
    """Sixteen random characters, shown in groups of four: ``7KQM-3XPD-WN4T-HB2R``."""
    raw = "".join(secrets.choice(ACCESS_PASS_ALPHABET) for _ in range(ACCESS_PASS_LENGTH))
    return "-".join(raw[i : i + ACCESS_PASS_GROUP] for i in range(0, ACCESS_PASS_LENGTH, ACCESS_PASS_GROUP))


def normalize_access_pass(value: str) -> str:
    """What the person typed, as hashed: case, spaces and dashes ignored, look-alikes mapped.

    "" for anything that cannot be a pass.
    """
    value = "".join(value.split()).replace("-", "").upper().translate(_LOOK_ALIKES)
    if len(value) != ACCESS_PASS_LENGTH or any(ch not in ACCESS_PASS_ALPHABET for ch in value):
        return ""
    return value


def hash_access_pass(*, user_id: int, normalized: str) -> str:
    """HMAC-SHA256 keyed with SECRET_KEY, bound to the account.

    SECURITY: a stolen database does not reveal a live pass, and a pass issued for one
    account never matches another's, because the account is part of the message.
    """
    message = f"{user_id}:{normalized}"
    return keyed_hash(salt="threshold.recovery.access_pass", message=message)
