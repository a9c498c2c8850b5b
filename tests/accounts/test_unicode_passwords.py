"""A password is the same password however the keyboard encodes its accents (NFKC)."""

from __future__ import annotations

import unicodedata

import argon2
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from tests.conftest import make_user
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db

SPOKEN = "Crème brûlée à minuit, façon Noël 42"
NFC = unicodedata.normalize("NFC", SPOKEN)
NFD = unicodedata.normalize("NFD", SPOKEN)


def sign_in(email: str, password: str) -> int:
    return Client().post("/accounts/login/", {"login": email, "password": password}).status_code


def old_hash(raw: str) -> str:
    """A hash as Threshold made them before passwords were normalised: the text as typed."""
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
    return "argon2" + hasher.hash(raw)


def test_the_two_forms_differ() -> None:
    assert NFC != NFD and len(NFD) > len(NFC)


def test_a_password_set_in_nfc_signs_in_when_typed_in_nfd() -> None:
    user = make_user("ada@example.com", password=NFC)
    assert sign_in(user.email, NFD) == 302
    assert sign_in(user.email, NFC) == 302


def test_a_password_set_in_nfd_signs_in_when_typed_in_nfc() -> None:
    user = make_user("ada@example.com", password=NFD)
    assert sign_in(user.email, NFC) == 302


def test_a_password_changed_on_the_page_in_one_form_works_in_the_other() -> None:
    user = make_user("ada@example.com")
    client = Client()
    client.post("/accounts/login/", {"login": user.email, "password": "correct horse battery staple 42"})
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "correct horse battery staple 42", "password1": NFD, "password2": NFD},
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    assert sign_in(user.email, NFC) == 302


def test_an_old_hash_of_an_unnormalised_password_still_signs_in_and_is_upgraded() -> None:
    user = make_user("ada@example.com")
    User.objects.filter(pk=user.pk).update(password=old_hash(NFD))

    assert sign_in(user.email, NFD) == 302

    user.refresh_from_db()
    assert user.password.startswith("argon2nfkc$argon2id$")
    # Now it is the normalised password that is stored: both forms sign in.
    assert sign_in(user.email, NFC) == 302
    assert sign_in(user.email, NFD) == 302
    assert sign_in(user.email, "Creme brulee a minuit, facon Noel 42") == 200


def test_an_old_hash_of_an_nfc_password_signs_in_when_typed_in_nfd() -> None:
    user = make_user("ada@example.com")
    User.objects.filter(pk=user.pk).update(password=old_hash(NFC))
    assert sign_in(user.email, NFD) == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2nfkc$")


def test_an_old_hash_refuses_a_wrong_password_and_stays_as_it_was() -> None:
    user = make_user("ada@example.com")
    stored = old_hash(NFD)
    User.objects.filter(pk=user.pk).update(password=stored)
    assert sign_in(user.email, NFD.replace("42", "43")) == 200
    user.refresh_from_db()
    assert user.password == stored
    assert SecurityEvent.objects.filter(user=user, code="account:signin:failure").exists()


def test_the_rules_judge_the_normalised_password() -> None:
    # Full-width letters (an East Asian input method) make a leaked password once normalised.
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "password123")  # U+FF50…
    assert unicodedata.normalize("NFKC", full_width) == "password123"
    with pytest.raises(ValidationError) as refused:
        validate_password(full_width)
    assert "password_blocklisted" in [error.code for error in refused.value.error_list]
