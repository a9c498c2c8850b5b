"""Keyed hashes of stored codes and passes: the same bytes as before, so stored rows stay valid.

The expected values were computed by the code on ``main`` before keyed hashing moved here;
a change of salt, message layout or algorithm would make every live code, link and access
pass in a database stop matching.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from threshold.accounts import codes
from threshold.recovery import codes as access_passes
from threshold.verification.hashing import digest

KEY = "fixed-test-key-" + "x" * 40


@override_settings(SECRET_KEY=KEY)
def test_one_time_code_hash_is_unchanged() -> None:
    assert (
        codes.hash_code(purpose="phone", user_id=7, target="+447700900123", flow="f", code="012345")
        == "4352c4893f116bbe9b5276656158384c68e3a02309b46a470124197e30e8e978"
    )


@override_settings(SECRET_KEY=KEY)
def test_link_hash_is_unchanged() -> None:
    assert codes.hash_link(purpose="reset", token="tok") == (
        "f32c190c52934fb4358ccc764236ca500f3931424e202895083015ad3ff8b180"
    )


@override_settings(SECRET_KEY=KEY)
def test_access_pass_hash_is_unchanged() -> None:
    assert access_passes.hash_access_pass(user_id=7, normalized="7KQM3XPDWN4THB2R") == (
        "2aa907e7256accd7be030ea2562af4d6cdddb0a312fb520dbbe2f7f0727b06e9"
    )


@override_settings(SECRET_KEY="another-key-" + "y" * 40)
def test_a_different_secret_key_gives_a_different_hash() -> None:
    assert codes.hash_link(purpose="reset", token="tok") != (
        "f32c190c52934fb4358ccc764236ca500f3931424e202895083015ad3ff8b180"
    )


@pytest.mark.parametrize("value", ["someone@example.com", "+447700900123"])
def test_cache_key_digest_is_short_stable_and_hides_the_value(value: str) -> None:
    assert digest(value) == digest(value)
    assert len(digest(value)) == 32
    assert value not in digest(value)
    assert digest("someone@example.com") == "72497f475e4f76d0b28f57c73a084ece"
