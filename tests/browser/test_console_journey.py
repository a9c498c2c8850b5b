"""Megan, Contoso's global admin, opens the admin console, finds Adele and makes her set up her
sign-in methods again; Adele sees it on her Recent activity. Then Megan looks at Policies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.browser.steps import MAC_CHROME, sign_in, sign_out
from tests.conftest import PASSWORD, make_user
from tests.security.conftest import BROWSER_UA, LONDON_IP
from threshold.accounts.models import AccountKind
from threshold.orgs.models import LicenceTier, Membership, Organization, Role
from threshold.security.models import SignInMethod


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "user_agent": MAC_CHROME}


def _work(org: Organization, email: str, given: str, family: str, role: str = Role.MEMBER) -> Any:
    user = make_user(email, kind=AccountKind.WORK, organization=org, given_name=given, family_name=family)
    Membership.objects.create(user=user, organization=org, role=role, home=True)
    return user


@pytest.mark.django_db(transaction=True)
def test_the_admin_resets_adeles_methods_and_she_sees_it(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    base = live_server.url
    contoso = Organization.objects.create(
        name="Contoso", slug="contoso", verified_domains=["contoso.com"], licence=LicenceTier.PREMIUM
    )
    megan = _work(contoso, "megan.bowen@contoso.com", "Megan", "Bowen", Role.GLOBAL_ADMIN)
    _work(contoso, "lee.gu@contoso.com", "Lee", "Gu", Role.HELPDESK_ADMIN)
    adele = _work(contoso, "adele.vance@contoso.com", "Adele", "Vance")
    for given, family in (
        ("Alex", "Wilber"),
        ("Diego", "Siciliani"),
        ("Grady", "Archie"),
        ("Lynne", "Robbins"),
    ):
        _work(contoso, f"{given.lower()}.{family.lower()}@contoso.com", given, family)
    # Adele signs in from her computer and has an authenticator app.
    other = Client(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR=LONDON_IP)
    assert other.post("/accounts/login/", {"login": adele.email, "password": PASSWORD}).status_code == 302
    from allauth.mfa.models import Authenticator

    authenticator = Authenticator.objects.create(
        user=adele, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    SignInMethod.objects.create(
        user=adele, kind="authenticator_app", name="Adele's phone", authenticator=authenticator
    )

    sign_in(page, base, megan.email)
    page.get_by_role("link", name="Admin console").click()
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    page.get_by_label("Name or email").fill("adele")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Adele Vance").click()
    expect(page.get_by_role("heading", name="Adele Vance")).to_be_visible()
    expect(page.get_by_role("region", name="Sign-in methods")).to_contain_text("Adele's phone")
    page.get_by_role("link", name="All members").click()
    expect(page.get_by_role("link", name="Lee Gu")).to_be_visible()
    shoot(page, "admin-console")

    page.get_by_role("link", name="Adele Vance").click()
    page.get_by_role("button", name="Require new sign-in methods").click()
    expect(page.get_by_role("status").first).to_contain_text("sign-in methods were removed")
    expect(page.get_by_role("region", name="Sign-in methods")).to_contain_text("No sign-in methods")
    assert not SignInMethod.objects.filter(user=adele).exists()

    page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name="Policies")).to_be_visible()
    page.get_by_label("Require two-step verification").check()
    page.get_by_label("Names are managed").check()
    page.get_by_label("Why profile fields are managed").fill("They come from Contoso's HR directory.")
    shoot(page, "admin-policies")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_text("The policy was saved.")).to_be_visible()
    sign_out(page)

    # Adele signs in: she is led to set up two-step verification, and sees why.
    sign_in(page, base, adele.email)
    expect(page).to_have_url(re.compile(r"/organizations/set-up/"))
    expect(
        page.get_by_text("Your admin at Contoso asked you to set up your sign-in methods again.")
    ).to_be_visible()
    adele_activity = Client(HTTP_USER_AGENT=BROWSER_UA)
    adele_activity.force_login(adele)
    from threshold.activity.models import SecurityEvent

    event = SecurityEvent.objects.filter(user=adele, code="org:admin:methods_reset").get()
    assert event.actor_label == megan.email
    assert "Your admin asked you to set up your sign-in methods again" in event.label
