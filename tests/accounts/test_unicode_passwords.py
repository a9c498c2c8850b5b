"""A password is the same password however the keyboard encodes its accents (NFKC)."""

from __future__ import annotations

import unicodedata
from typing import Any, ClassVar

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from tests.conftest import make_user
from threshold.accounts.hashers import BoundedArgon2idHasher
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db

SPOKEN = "Crème brûlée à minuit, façon Noël 42"
NFC = unicodedata.normalize("NFC", SPOKEN)
NFD = unicodedata.normalize("NFD", SPOKEN)


def sign_in(email: str, password: str) -> int:
    return Client().post("/accounts/login/", {"login": email, "password": password}).status_code


class StockArgon2id(Argon2PasswordHasher):
    """Django's own Argon2 hasher at Threshold's parameters: what Threshold's hasher made
    before passwords were normalised (it differed only in where the hash ran)."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1


def old_hash(raw: str) -> str:
    """A hash as Threshold made them before passwords were normalised: the text as typed."""
    hasher = StockArgon2id()
    return hasher.encode(raw, hasher.salt())


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


def hashes(encoded: str, password: str) -> bool:
    """Whether ``encoded`` is a hash of ``password`` exactly (argon2-cffi, not the project's hasher)."""
    try:
        return argon2.PasswordHasher().verify(encoded.removeprefix("argon2"), password)
    except argon2.exceptions.VerifyMismatchError:
        return False


def test_an_old_hash_of_an_unnormalised_password_still_signs_in_and_is_upgraded() -> None:
    user = make_user("ada@example.com")
    User.objects.filter(pk=user.pk).update(password=old_hash(NFD))
    changed_at = User.objects.get(pk=user.pk).password_changed_at

    assert sign_in(user.email, NFD) == 302

    user.refresh_from_db()
    assert hashes(user.password, NFC) and not hashes(user.password, NFD)  # made again, normalised
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert user.password_changed_at == changed_at  # an upgrade, not a password change
    # Now both forms sign in, and a wrong password still does not.
    assert sign_in(user.email, NFC) == 302
    assert sign_in(user.email, NFD) == 302
    assert sign_in(user.email, "Creme brulee a minuit, facon Noel 42") == 200


def test_confirming_its_you_with_an_old_hash_upgrades_it_and_stays_signed_in() -> None:
    user = make_user("ada@example.com")
    User.objects.filter(pk=user.pk).update(password=old_hash(NFD))
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))

    assert client.post("/accounts/reauthenticate/", {"password": NFD}).status_code == 302

    assert hashes(User.objects.get(pk=user.pk).password, NFC)
    assert client.get("/").status_code == 200


def test_an_old_hash_of_an_nfc_password_signs_in_when_typed_in_nfd_and_is_kept() -> None:
    # NFC text is already NFKC: the old hash is a hash of the normalised password, and is
    # left as it is (a new hash would sign the person out of their other sessions).
    user = make_user("ada@example.com")
    stored = old_hash(NFC)
    User.objects.filter(pk=user.pk).update(password=stored)
    assert sign_in(user.email, NFD) == 302
    user.refresh_from_db()
    assert user.password == stored


def test_other_sessions_survive_the_first_sign_in_after_the_change() -> None:
    # Every hash made before from an ASCII password stays: nobody is signed out elsewhere.
    user = make_user("ada@example.com")
    stored = old_hash("correct horse battery staple 42")
    User.objects.filter(pk=user.pk).update(password=stored)
    elsewhere = Client()
    elsewhere.force_login(User.objects.get(pk=user.pk))
    assert sign_in(user.email, "correct horse battery staple 42") == 302
    assert User.objects.get(pk=user.pk).password == stored
    assert elsewhere.get("/").status_code == 200


def test_an_old_hash_refuses_a_wrong_password_and_stays_as_it_was() -> None:
    user = make_user("ada@example.com")
    stored = old_hash(NFD)
    User.objects.filter(pk=user.pk).update(password=stored)
    assert sign_in(user.email, NFD.replace("42", "43")) == 200
    user.refresh_from_db()
    assert user.password == stored
    assert SecurityEvent.objects.filter(user=user, code="account:signin:failure").exists()


class HashCounter(BoundedArgon2idHasher):
    """Ours, counting every Argon2 computation (set with ``settings.PASSWORD_HASHERS = [PATH]``)."""

    PATH = "tests.accounts.test_unicode_passwords.HashCounter"
    computations: ClassVar[list[int]] = [0]

    def verify_exactly(self, password: str, encoded: str) -> bool:
        self.computations[0] += 1
        return super().verify_exactly(password, encoded)

    def _hash(self, password: str, salt: str) -> str:
        self.computations[0] += 1
        return super()._hash(password, salt)


@pytest.mark.parametrize("typed", [NFD, NFC], ids=["decomposed", "composed"])
def test_a_wrong_password_costs_as_many_hashes_for_an_unknown_email(settings: Any, typed: str) -> None:
    # The unknown email's sign-in makes a throwaway hash of what was typed; a known one's
    # checks it. Two forms to try must not make the known account the slower one.
    settings.PASSWORD_HASHERS = [HashCounter.PATH]
    make_user("ada@example.com", password="correct horse battery staple 42")
    wrong = typed.replace("42", "43")
    counts = []
    for email in ("ada@example.com", "nobody@example.com"):
        HashCounter.computations[0] = 0
        assert sign_in(email, wrong) == 200
        counts.append(HashCounter.computations[0])
    assert counts[0] == counts[1] == (2 if typed == NFD else 1)


def test_the_rules_judge_the_normalised_password() -> None:
    # Full-width letters (an East Asian input method) make a leaked password once normalised.
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "password123")  # U+FF50…
    assert unicodedata.normalize("NFKC", full_width) == "password123"
    with pytest.raises(ValidationError) as refused:
        validate_password(full_width)
    assert "password_blocklisted" in [error.code for error in refused.value.error_list]
