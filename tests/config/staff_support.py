"""Staff members signed in as the staff admin asks: a passkey on the account, and a session
that proved it. Shared by every test that opens /staff/."""

from __future__ import annotations

from typing import Any

from tests.conftest import make_user
from tests.security.conftest import Commits, Person, add_passkey, browser, sign_in, sign_in_with_passkey
from tests.security.softauthn import SoftAuthenticator
from threshold.accounts.models import User


def make_operator(email: str = "operator@threshold.example", **extra: Any) -> User:
    return make_user(email, is_staff=True, is_superuser=True, **extra)


def with_passkey(user: User, commits: Commits) -> Person:
    """``user`` adds a passkey (through allauth's page); the session that added it signed in
    with the password alone, so it does not open the staff admin."""
    client = browser()
    assert sign_in(client, user).status_code == 302
    person = Person(user=user, client=client, authenticator=SoftAuthenticator())
    person.passkey = add_passkey(client, person.authenticator, commits, name="Operator passkey")
    return person


def signed_in_with_passkey(person: Person) -> Person:
    """A new browser of ``person`` signed in with the passkey alone."""
    client = browser()
    response = sign_in_with_passkey(client, person.authenticator)
    assert response.status_code == 302, response
    return Person(user=person.user, client=client, authenticator=person.authenticator, passkey=person.passkey)


def staff_operator(commits: Commits, email: str = "operator@threshold.example") -> Person:
    """An operator as /staff/ lets in: a passkey on the account, and signed in with it."""
    return signed_in_with_passkey(with_passkey(make_operator(email), commits))
