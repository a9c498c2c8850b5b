"""The members list and its filters, a member's page (methods as metadata, never secrets), and
the global admin's Policies and Branding pages with their licence limits."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from tests.orgs import console_support as support
from tests.orgs.console_support import World, member_url, signed_in
from tests.security.conftest import add_authenticator_app, turn_on_two_step
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.orgs.models import LicenceTier, OrganizationPolicy, Role
from threshold.security.models import SignInMethod

pytestmark = pytest.mark.django_db

_english, world, commits = support._english, support.world, support.commits
megan_client, harry_client = support.megan_client, support.harry_client


def page_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.content.decode())


def listed(page: str) -> set[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return {e for e in ("megan", "harry", "adele", "alex") if f"{e}@" in body}


def test_members_are_searched_and_filtered(world: World, megan_client: Client, commits: Any) -> None:
    adele = signed_in(world.adele)
    add_authenticator_app(adele, commits)
    turn_on_two_step(adele, commits)
    assert listed(page_of(megan_client, "/admin-console/")) == {"megan", "harry", "adele", "alex"}
    assert listed(page_of(megan_client, "/admin-console/?q=vance")) == {"adele"}
    assert listed(page_of(megan_client, "/admin-console/?q=HARRY@")) == {"harry"}
    assert listed(page_of(megan_client, "/admin-console/?show=no_two_step")) == {"megan", "harry", "alex"}
    assert listed(page_of(megan_client, "/admin-console/?role=helpdesk_admin")) == {"harry"}
    User.objects.filter(pk=world.harry.pk).update(last_login=timezone.now() - timedelta(days=100))
    stale = listed(page_of(megan_client, "/admin-console/?show=stale&stale_days=90"))
    assert stale == {"harry", "alex"}  # Alex never signed in; Megan and Adele just did
    User.objects.filter(pk=world.adele.pk).update(locked_at=timezone.now())
    assert listed(page_of(megan_client, "/admin-console/?show=blocked")) == {"adele"}
    assert "No one matches." in page_of(megan_client, "/admin-console/?q=nobody-at-all")


def test_members_are_paged(world: World, megan_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from threshold.orgs.console import selectors

    monkeypatch.setattr(selectors, "MEMBERS_PER_PAGE", 2)
    first = page_of(megan_client, "/admin-console/")
    assert len(listed(first)) == 2 and "Page 1 of 2" in first
    second = page_of(megan_client, "/admin-console/?page=2")
    assert listed(first) | listed(second) == {"megan", "harry", "adele", "alex"}


def test_a_members_page_shows_methods_as_metadata_only(
    world: World, megan_client: Client, commits: Any
) -> None:
    adele = signed_in(world.adele)
    secret = add_authenticator_app(adele, commits, name="Work phone")
    codes = turn_on_two_step(adele, commits)
    page = page_of(megan_client, member_url(world.adele, world.contoso))
    assert "Adele Vance" in page and "Work phone" in page and "Authenticator app" in page
    assert "10 recovery codes left." in page
    assert secret not in page and not any(code in page for code in codes)
    method = SignInMethod.objects.get(user=world.adele)
    assert method.authenticator is not None
    assert str(method.authenticator.data) not in page
    assert "Chrome on Windows" in page  # her device
    assert "Two-step verification turned on" in page  # her recent activity


def test_policies_are_changed_through_update_policy_with_explanations(
    world: World, megan_client: Client, commits: Any
) -> None:
    page = page_of(megan_client, "/admin-console/policies/")
    assert "Passwords never expire: regular changes make them weaker." in page
    data = {
        "require_two_step": "on",
        "two_step_grace_days": "7",
        "text_messages": "not_admins",
        "self_service_password_reset": "on",
        "reset_methods_required": "1",
        "password_min_length": "12",
        "password_banned_words": "contoso\nwidgets",
        "lock_names": "on",
        "profile_lock_reason": "They come from HR.",
        "members_may_close_account": "",
        "members_may_remove_devices": "on",
        "unfamiliar_sign_in": "second_step",
    }
    # Out of bounds: refused with the reason, nothing saved.
    refused = megan_client.post("/admin-console/policies/", {**data, "password_min_length": "6"})
    assert refused.status_code == 200
    assert "Ensure this value is greater than or equal to 8." in html.unescape(refused.content.decode())
    assert not OrganizationPolicy.objects.filter(organization=world.contoso).exists()
    with commits(execute=True):
        response = megan_client.post("/admin-console/policies/", data)
    assert response.status_code == 302
    policy = OrganizationPolicy.objects.get(organization=world.contoso)
    assert policy.require_two_step and policy.two_step_grace_days == 7 and policy.lock_names
    assert (
        policy.password_banned_words == ["contoso", "widgets"] and policy.unfamiliar_sign_in == "second_step"
    )
    assert not policy.members_may_close_account
    change = SecurityEvent.objects.filter(
        code="org:policy:change", details__field="password_min_length"
    ).get()
    assert change.details["from"] == 8 and change.details["to"] == 12 and change.user == world.megan


def test_premium_policy_settings_say_so_on_standard(world: World, megan_client: Client) -> None:
    world.contoso.licence = LicenceTier.STANDARD
    world.contoso.save(update_fields=["licence"])
    page = page_of(megan_client, "/admin-console/policies/")
    assert "Available with Premium." in page
    assert re.search(r'<select name="unfamiliar_sign_in"[^>]*disabled', page)
    assert not re.search(r'name="password_min_length"[^>]*disabled', page)
    data = {
        "two_step_grace_days": "14",
        "text_messages": "everyone",
        "self_service_password_reset": "on",
        "reset_methods_required": "1",
        "password_min_length": "10",
        "members_may_close_account": "on",
        "members_may_remove_devices": "on",
        "unfamiliar_sign_in": "block",  # ignored: the field is disabled
    }
    assert megan_client.post("/admin-console/policies/", data).status_code == 302
    policy = OrganizationPolicy.objects.get(organization=world.contoso)
    assert policy.password_min_length == 10 and policy.unfamiliar_sign_in == "allow"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (15, 108, 189)).save(buffer, "PNG")
    return buffer.getvalue()


def test_branding_is_premium(world: World, megan_client: Client, commits: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    with commits(execute=True):
        response = megan_client.post(
            "/admin-console/branding/",
            {
                "accent_colour": "#0f6cbd",
                "sign_in_text": "Use your Contoso address.",
                "logo": SimpleUploadedFile("logo.png", _png(), content_type="image/png"),
            },
        )
    assert response.status_code == 302
    world.contoso.refresh_from_db()
    assert world.contoso.accent_colour == "#0f6cbd" and world.contoso.logo_updated_at is not None
    assert world.contoso.sign_in_text == "Use your Contoso address."
    bad = megan_client.post("/admin-console/branding/", {"accent_colour": "red"})
    assert "Enter a colour as # and six hexadecimal digits" in html.unescape(bad.content.decode())
    world.contoso.licence = LicenceTier.STANDARD
    world.contoso.save(update_fields=["licence"])
    page = page_of(megan_client, "/admin-console/branding/")
    assert "Available with Premium." in page and 'name="accent_colour"' not in page
    megan_client.post("/admin-console/branding/", {"accent_colour": "#000000"})
    world.contoso.refresh_from_db()
    assert world.contoso.accent_colour == "#0f6cbd"


def test_policy_and_admins_pages_are_the_global_admins(world: World, harry_client: Client) -> None:
    for url in ("/admin-console/policies/", "/admin-console/branding/", "/admin-console/admins/"):
        response = harry_client.get(url)
        assert response.status_code == 403
        assert "Only a global admin of Contoso can do this." in html.unescape(response.content.decode())
    assert OrganizationPolicy.objects.filter(organization=world.contoso).count() == 0
    assert Role.HELPDESK_ADMIN in {m.role for m in world.harry.memberships.all()}


def test_the_portal_links_to_the_console_for_admins_only(world: World, megan_client: Client) -> None:
    assert 'href="/admin-console/">Admin console<' in megan_client.get("/").content.decode()
    adele = signed_in(world.adele)
    assert "Admin console" not in adele.get("/").content.decode()
    assert "Admin console" not in signed_in(world.alex).get("/").content.decode()


def test_a_guests_page_shows_nothing_of_their_own_account(
    world: World, megan_client: Client, commits: Any
) -> None:
    alex = signed_in(world.alex)
    add_authenticator_app(alex, commits, name="Alex's phone")
    page = page_of(megan_client, member_url(world.alex, world.contoso))
    assert "Alex Morgan" in page and "Guest" in page
    assert (
        "Alex's phone" not in page
        and "Sign-in methods" not in page
        and "Devices" not in page.split("<main", 1)[1]
    )
    assert "Sign-in method added" not in page and "Signed in" not in page.split("Recent activity", 1)[1]
