"""AES-256-GCM under THRESHOLD_ENCRYPTION_KEYS: sealed, bound to its purpose, readable under any listed key."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from threshold.core import crypto

NEW = bytes(range(32))
OLD = bytes(range(100, 132))


@pytest.fixture
def keys(settings: Any) -> Any:
    settings.ENCRYPTION_KEYS = [NEW]
    return settings


def test_a_value_is_sealed_and_opens_again(keys: Any) -> None:
    sealed = crypto.encrypt("JBSWY3DPEHPK3PXP", purpose="mfa")
    assert "JBSWY3DPEHPK3PXP" not in sealed and sealed.startswith(f"enc1:{crypto.key_id(NEW)}:")
    assert crypto.decrypt(sealed, purpose="mfa") == "JBSWY3DPEHPK3PXP"
    # A fresh nonce each time: the same secret never seals to the same value twice.
    assert crypto.encrypt("JBSWY3DPEHPK3PXP", purpose="mfa") != sealed


def test_new_values_use_the_first_key_and_old_ones_still_open(keys: Any) -> None:
    keys.ENCRYPTION_KEYS = [OLD]
    under_old = crypto.encrypt("secret", purpose="mfa")
    keys.ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(under_old, purpose="mfa") == "secret"
    assert not crypto.is_current(under_old)
    under_new = crypto.encrypt("secret", purpose="mfa")
    assert under_new.split(":")[1] == crypto.key_id(NEW) and crypto.is_current(under_new)
    keys.ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.DecryptionError, match=crypto.key_id(OLD)):
        crypto.decrypt(under_old, purpose="mfa")


def test_a_changed_value_or_another_purpose_does_not_open(keys: Any) -> None:
    sealed = crypto.encrypt("secret", purpose="mfa")
    prefix, kid, payload = sealed.split(":")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-1] ^= 1
    tampered = f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered, purpose="mfa")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, purpose="something-else")


@pytest.mark.parametrize("value", ["JBSWY3DPEHPK3PXP", "enc1:", "enc1:abcd:", "enc1:abcd:!!!!", "enc1:a:b:c"])
def test_anything_else_is_refused_not_passed_through(keys: Any, value: str) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(value, purpose="mfa")


def test_keys_are_read_in_either_base64_alphabet_with_or_without_padding() -> None:
    key = bytes([251] * 32)  # encodes with "+"/"/" in standard base64
    standard = base64.b64encode(key).decode()
    assert crypto.decode_key(standard) == key
    assert crypto.decode_key(base64.urlsafe_b64encode(key).decode().rstrip("=")) == key
    assert crypto.decode_key(crypto.new_key()) is not None
    assert crypto.decode_key(base64.b64encode(bytes(16)).decode()) is None  # AES-128 is not enough
    assert crypto.decode_key("not base64 at all!") is None
