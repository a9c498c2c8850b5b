"""Password rules (length, blocklist, context words, strength) and how passwords are stored."""

from __future__ import annotations

from typing import Any

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from tests.conftest import PASSWORD, make_user
from threshold.accounts import passwords
from threshold.accounts.models import User

STRONG_UNIT = "Zq9!Hv3&"  # eight characters no rule minds


def refusal(password: str, user: Any = None) -> list[str]:
    """Why ``password`` is refused (empty when it is accepted)."""
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        return list(error.messages)
    return []


def person(**fields: str) -> User:
    return User(email=fields.pop("email", "grace.hopper@navy.example"), **fields)


# --- Length ------------------------------------------------------------------------------


def test_length_is_8_to_128_characters() -> None:
    assert refusal(STRONG_UNIT[:7]) == ["This password is too short: use at least 8 characters."]
    assert refusal(STRONG_UNIT) == []
    assert refusal(STRONG_UNIT * 16) == []  # 128
    assert refusal(STRONG_UNIT * 16 + "x") == ["This password is too long: use at most 128 characters."]


def test_length_counts_characters_not_bytes() -> None:
    assert len("ünïcødé🙂Ω".encode()) > 8
    assert refusal("ünïcødé") == ["This password is too short: use at least 8 characters."]
    assert refusal("ünïcødé🙂Ω ß") == []


@pytest.mark.django_db
@pytest.mark.parametrize(("length", "accepted"), [(128, True), (129, False)])
def test_sign_up_takes_128_characters_and_explains_129(client: Client, length: int, accepted: bool) -> None:
    password = (STRONG_UNIT * 17)[:length]
    response = client.post("/accounts/signup/", {"email": "grace@example.com", "password1": password})
    assert (response.status_code == 302) is accepted
    if not accepted:
        assert "This password is too long: use at most 128 characters." in response.content.decode()
    else:
        assert User.objects.get(email="grace@example.com").check_password(password)


# --- Blocklist ---------------------------------------------------------------------------


def test_the_blocklist_has_40101_entries() -> None:
    # Django's 20,000 common passwords merged with zxcvbn's 30,000 most frequent leaked ones.
    assert len(passwords.blocklist()) == 40_101


@pytest.mark.parametrize("leaked", ["password123", "PassWord123", "qwertyuiop1", " iloveyou1 "])
def test_leaked_passwords_are_refused_whatever_their_case(leaked: str) -> None:
    assert refusal(leaked) == [
        "This password appears in lists of leaked passwords that attackers try first. "
        "Choose something else, such as a few unrelated words."
    ]


# --- Context words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["gracehopper1!", "Hopper#2024x", "navy.navy.navy", "grace.hopper", "GraceGrace77"]
)
def test_a_password_made_of_ones_name_or_email_is_refused(password: str) -> None:
    reasons = refusal(password, person(given_name="Grace", family_name="Hopper"))
    assert len(reasons) == 1, reasons
    assert reasons[0].startswith("This password is mostly your name or email address (“")
    assert reasons[0].endswith("”). Choose something unrelated to you.")


def test_a_name_inside_a_longer_passphrase_is_fine() -> None:
    assert refusal("grace under monsoon lanterns", person(given_name="Grace", family_name="Hopper")) == []


@pytest.mark.django_db
def test_sign_up_checks_the_names_typed_in_the_same_form(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "given_name": "Wilhelmina",
            "family_name": "Quist",
            "email": "wq@example.com",
            "password1": "Wilhelmina!Quist",
        },
    )
    assert response.status_code == 200
    assert "This password is mostly your name or email address (“wilhelmina”)" in response.content.decode()


# --- Strength ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        ("aaaaaaaaaaab", "Repeats like"),
        ("abcd1234abcd", "This is similar to a commonly used password."),
        ("september1987", ""),
    ],
)
def test_easily_guessed_passwords_are_refused_with_the_reason(password: str, hint: str) -> None:
    reasons = refusal(password)
    assert len(reasons) == 1
    assert reasons[0].startswith("This password would be easy to guess.")
    assert hint in reasons[0]
    assert reasons[0].endswith("Add another word or two, or make it longer.")


def test_one_reason_at_a_time_where_rules_overlap() -> None:
    # A leaked password is also weak; saying so twice would only add noise.
    assert len(refusal("password123")) == 1
    assert refusal("aaaa") == ["This password is too short: use at least 8 characters."]
    assert len(refusal("GraceGrace77", person(given_name="Grace"))) == 1


def test_passphrases_pass() -> None:
    assert refusal(PASSWORD) == []
    assert refusal("velvet harbour lantern 19") == []


def test_every_rule_explains_itself_in_the_help_text() -> None:
    from django.contrib.auth.password_validation import password_validators_help_texts

    assert password_validators_help_texts() == [
        "Use 8 to 128 characters.",
        "Don't use a common or leaked password.",
        "Don't use your name or email address.",
        "Make it hard to guess: a few unrelated words work well.",
    ]


# --- Storage -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_passwords_are_stored_as_argon2id_at_the_owasp_minimum() -> None:
    user = make_user("ada@example.com")
    algorithm, encoded = user.password.split("$", 1)
    assert algorithm == "argon2"
    parameters = argon2.extract_parameters("$" + encoded)
    assert parameters.type is argon2.Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19456, 2, 1)
    assert encoded.startswith("argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.django_db
def test_a_hash_with_other_parameters_is_upgraded_at_sign_in(client: Client) -> None:
    user = make_user("ada@example.com")
    heavier = Argon2PasswordHasher()  # Django's own: m=102400, t=2, p=8
    user.password = make_password(PASSWORD, hasher=heavier)
    user.save(update_fields=["password"])
    assert "m=102400" in user.password
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert "$m=19456,t=2,p=1$" in user.password
