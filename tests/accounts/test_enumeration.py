"""Nobody can learn whether an email has an account here from sign-in, sign-up or reset.

SECURITY: each flow answers an unknown email exactly as a known one: the same status, the
same page (apart from the CSRF token and the email typed in), the same cookies, and the
same amount of password hashing, which is what dominates the response time.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.accounts.counting_hasher import CountingHasher
from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts.models import User

pytestmark = pytest.mark.django_db

KNOWN = "ada@example.com"
UNKNOWN = "nobody@example.com"


@pytest.fixture(autouse=True)
def counting_hasher(settings: Any) -> type[CountingHasher]:
    settings.PASSWORD_HASHERS = [CountingHasher.PATH]
    CountingHasher.reset()
    return CountingHasher


@pytest.fixture
def known(db: Any) -> User:
    user = make_user(KNOWN, given_name="Ada")
    CountingHasher.reset()
    return user


def normalised(response: Any, email: str) -> str:
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', page)
    return page.replace(email, "EMAIL")


def cookie_names(response: Any) -> list[str]:
    return sorted(response.cookies.keys())


def answer(client: Client, method: str, url: str, email: str, data: dict[str, str] | None = None) -> Any:
    return getattr(client, method)(url, data or {}, REMOTE_ADDR="198.51.100.20")


# --- Password hashing ------------------------------------------------------------------


def test_sign_in_with_an_unknown_email_hashes_once(client: Client) -> None:
    client.post("/accounts/login/", {"login": UNKNOWN, "password": "a wrong guess"})
    assert CountingHasher.calls == {"encode": 1, "verify": 0}


def test_sign_in_with_a_wrong_password_hashes_once(client: Client, known: User) -> None:
    client.post("/accounts/login/", {"login": KNOWN, "password": "a wrong guess"})
    assert CountingHasher.calls == {"encode": 0, "verify": 1}


def test_sign_in_to_an_account_without_a_password_hashes_once(client: Client) -> None:
    make_user("nopass@example.com", password=None)
    CountingHasher.reset()
    client.post("/accounts/login/", {"login": "nopass@example.com", "password": "a wrong guess"})
    assert CountingHasher.total() == 1


def test_sign_up_hashes_once_whether_or_not_the_email_has_an_account(client: Client, known: User) -> None:
    Client().post("/accounts/signup/", {"email": "new@example.com", "password1": PASSWORD})
    new_account = CountingHasher.total()
    CountingHasher.reset()
    Client().post("/accounts/signup/", {"email": KNOWN, "password1": PASSWORD})
    assert (new_account, CountingHasher.total()) == (1, 1)


# --- The same answers ----------------------------------------------------------------


def test_sign_in_answers_an_unknown_email_as_a_known_one(known: User) -> None:
    responses = {}
    for email in (KNOWN, UNKNOWN):
        client = Client()
        client.get("/accounts/login/")
        responses[email] = client.post("/accounts/login/", {"login": email, "password": "a wrong guess"})
    known_response, unknown_response = responses[KNOWN], responses[UNKNOWN]
    assert known_response.status_code == unknown_response.status_code == 200
    assert normalised(known_response, KNOWN) == normalised(unknown_response, UNKNOWN)
    assert "The email address and/or password you specified are not correct." in normalised(
        known_response, KNOWN
    )
    assert cookie_names(known_response) == cookie_names(unknown_response)


def test_sign_up_answers_an_existing_email_as_a_new_one(known: User, mailbox: Mailbox) -> None:
    answers = {}
    for email in ("new@example.com", KNOWN):
        client = Client()
        client.get("/accounts/signup/")
        posted = client.post(
            "/accounts/signup/",
            {"given_name": "Ada", "family_name": "King", "email": email, "password1": PASSWORD},
        )
        followed = client.get(posted["Location"])
        answers[email] = (posted, followed)
    (new_posted, new_page), (old_posted, old_page) = answers["new@example.com"], answers[KNOWN]
    assert new_posted.status_code == old_posted.status_code == 302
    assert new_posted["Location"] == old_posted["Location"] == "/accounts/confirm-email/"
    assert cookie_names(new_posted) == cookie_names(old_posted)
    assert new_page.status_code == old_page.status_code == 200
    assert normalised(new_page, "new@example.com") == normalised(old_page, KNOWN)
    assert "We sent a code to <strong>EMAIL</strong>" in normalised(old_page, KNOWN)
    assert cookie_names(new_page) == cookie_names(old_page)
    # Each address got one message: a code for the new one, "you already have an account"
    # for the existing one. No second account was made.
    assert len(mailbox.to("new@example.com")) == 1
    assert len(mailbox.to(KNOWN)) == 1
    assert "already" in Mailbox.text(mailbox.to(KNOWN)[0]).lower()
    assert User.objects.filter(email=KNOWN).count() == 1


def test_password_reset_answers_an_unknown_email_as_a_known_one(known: User, mailbox: Mailbox) -> None:
    """The reset is threshold.recovery's (tests/recovery/test_password_reset.py has the rest)."""
    answers = {}
    for email in (KNOWN, UNKNOWN):
        client = Client()
        client.get("/recover/password/")
        posted = client.post("/recover/password/", {"email": email})
        sent = client.post("/recover/password/send/", {"way": "email", "email": email})
        followed = client.get(sent["Location"])
        wrong_code = client.post("/recover/password/code/", {"code": "000000"})
        answers[email] = (posted, sent, followed, wrong_code)
    for known_response, unknown_response in zip(answers[KNOWN], answers[UNKNOWN], strict=True):
        assert known_response.status_code == unknown_response.status_code
        assert known_response.get("Location") == unknown_response.get("Location")
        assert normalised(known_response, KNOWN) == normalised(unknown_response, UNKNOWN)
        assert cookie_names(known_response) == cookie_names(unknown_response)
    assert "If <strong>EMAIL</strong> is on your account, we've sent a code to it by email." in normalised(
        answers[UNKNOWN][2], UNKNOWN
    )
    assert "That code didn&#x27;t work." in normalised(answers[UNKNOWN][3], UNKNOWN)
    # Only a real account's address gets mail: nothing at all goes to an unknown one.
    assert len(mailbox.to(KNOWN)) == 1
    assert mailbox.to(UNKNOWN) == []
