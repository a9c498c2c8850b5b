"""Organisation states: Contoso with a policy, its admin and a signed-in member."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from tests.conftest import make_user
from tests.security.conftest import (  # noqa: F401 - shared security states
    Person,
    browser,
    commits,
    person,
    sign_in,
    user_with_totp,
)
from threshold.accounts.models import AccountKind, User
from threshold.orgs import services
from threshold.orgs.models import LicenceTier, Membership, Organization, OrganizationPolicy, Role


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def work_account(organization: Organization, email: str, *, role: str = Role.MEMBER, **extra: Any) -> User:
    user = make_user(email, kind=AccountKind.WORK, organization=organization, **extra)
    Membership.objects.create(user=user, organization=organization, role=role, home=True)
    return user


def signed_in(user: User) -> Client:
    client = browser()
    response = sign_in(client, user)
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def premium_contoso(contoso: Organization) -> Organization:
    contoso.licence = LicenceTier.PREMIUM
    contoso.contact = "it-help@contoso.example"
    contoso.save(update_fields=["licence", "contact"])
    return contoso


@pytest.fixture
def megan(contoso: Organization) -> User:
    """Contoso's global admin."""
    return work_account(contoso, "megan@contoso.example", role=Role.GLOBAL_ADMIN, given_name="Megan")


@pytest.fixture
def adele(contoso: Organization) -> User:
    """A Contoso member."""
    return work_account(contoso, "adele@contoso.example", given_name="Adele", family_name="Vance")


@pytest.fixture
def adele_client(adele: User) -> Client:
    return signed_in(adele)


@pytest.fixture
def set_policy(contoso: Organization, megan: User) -> Any:
    """Change Contoso's policy as Megan would in the admin console."""

    def change(**changes: Any) -> OrganizationPolicy:
        services.update_policy(organization=contoso, actor=megan, request=None, changes=changes)
        return OrganizationPolicy.objects.get(organization=contoso)

    return change
