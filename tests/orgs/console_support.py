"""States for the admin console's tests: Contoso (a global admin, a helpdesk admin, members and
a guest) and Fabrikam (its own admin and member), each signed in as a person would.

A module of fixtures rather than a conftest, so the organisation tests' own conftest stays
theirs; each test module imports what it uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from tests.conftest import PASSWORD, make_user
from tests.security import conftest as security_states
from tests.security.conftest import browser, sign_in
from threshold.accounts.models import AccountKind, User
from threshold.orgs.models import LicenceTier, Membership, Organization, Role

commits = security_states.commits  # on-commit work (alerts) inside the test's transaction


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def work_account(organization: Organization, email: str, *, role: str = Role.MEMBER, **extra: Any) -> User:
    user = make_user(email, kind=AccountKind.WORK, organization=organization, **extra)
    Membership.objects.create(user=user, organization=organization, role=role, home=True)
    return user


def signed_in(user: User, password: str = PASSWORD, **extra: Any) -> Client:
    client = browser(**extra)
    response = sign_in(client, user, password)
    assert response.status_code == 302, response.content[:500]
    return client


def membership_of(user: User, organization: Organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


def member_url(user: User, organization: Organization, action: str = "") -> str:
    base = f"/admin-console/members/{membership_of(user, organization).public_id}/"
    return base + (f"{action}/" if action else "")


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


@dataclass
class World:
    contoso: Organization
    fabrikam: Organization
    megan: User  # Contoso global admin
    harry: User  # Contoso helpdesk admin
    adele: User  # Contoso member
    alex: User  # a personal account, guest in Contoso
    pradeep: User  # Fabrikam global admin
    lidia: User  # Fabrikam member


@pytest.fixture
def world(db: Any) -> World:
    contoso = Organization.objects.create(
        name="Contoso", slug="contoso", verified_domains=["contoso.example"], licence=LicenceTier.PREMIUM
    )
    fabrikam = Organization.objects.create(
        name="Fabrikam", slug="fabrikam", verified_domains=["fabrikam.example"]
    )
    alex = make_user("alex@example.com", given_name="Alex", family_name="Morgan")
    Membership.objects.create(user=alex, organization=contoso, role=Role.MEMBER, home=False)
    return World(
        contoso=contoso,
        fabrikam=fabrikam,
        megan=work_account(contoso, "megan@contoso.example", role=Role.GLOBAL_ADMIN, given_name="Megan"),
        harry=work_account(contoso, "harry@contoso.example", role=Role.HELPDESK_ADMIN, given_name="Harry"),
        adele=work_account(contoso, "adele@contoso.example", given_name="Adele", family_name="Vance"),
        alex=alex,
        pradeep=work_account(
            fabrikam, "pradeep@fabrikam.example", role=Role.GLOBAL_ADMIN, given_name="Pradeep"
        ),
        lidia=work_account(fabrikam, "lidia@fabrikam.example", given_name="Lidia"),
    )


@pytest.fixture
def megan_client(world: World) -> Client:
    return signed_in(world.megan)


@pytest.fixture
def harry_client(world: World) -> Client:
    return signed_in(world.harry)


@pytest.fixture
def adele_client(world: World) -> Client:
    return signed_in(world.adele)
