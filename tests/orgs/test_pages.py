"""The sign-in page's branding, the Organizations page, longer retention, the demo."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.accounts.images import small_gif
from tests.conftest import make_user
from tests.orgs.conftest import signed_in
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.activity.retention import prune_events
from threshold.activity.services import record_event
from threshold.orgs import services
from threshold.orgs.models import LicenceTier, Membership, Organization, OrganizationPolicy, Role

pytestmark = pytest.mark.django_db


def login_page(client: Client, **query: str) -> str:
    response = client.get("/accounts/login/", query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def branded(premium_contoso: Organization, megan: User) -> Organization:
    services.update_branding(
        organization=premium_contoso,
        actor=megan,
        request=None,
        changes={"accent_colour": "#0f6cbd", "sign_in_text": "Use your Contoso address."},
        logo=small_gif(),
    )
    return Organization.objects.get(pk=premium_contoso.pk)


def test_premium_branding_on_the_sign_in_page(branded: Organization) -> None:
    client = Client()
    html = login_page(client, login_hint="@contoso.example")
    assert "Use your Contoso address." in html
    assert f"/organizations/branding/{branded.public_id}.css" in html
    assert f"/organizations/branding/{branded.public_id}/logo" in html
    assert "style=" not in html  # the CSP allows no inline style
    css = client.get(f"/organizations/branding/{branded.public_id}.css")
    assert css["Content-Type"].startswith("text/css")
    assert css.content.decode() == ".org-brand { --org-accent: #0f6cbd; }\n"
    logo = client.get(f"/organizations/branding/{branded.public_id}/logo")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/webp"
    assert logo["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_typed_email_brings_the_branding_after_a_wrong_password(
    branded: Organization, adele: User
) -> None:
    response = Client().post(
        "/accounts/login/", {"login": adele.email, "password": "not the password at all"}
    )
    assert "Use your Contoso address." in response.content.decode()


def test_branding_depends_on_the_domain_only(branded: Organization, adele: User) -> None:
    """No account enumeration: an unknown address of the domain looks the same as a member's."""

    def block(html: str) -> str:
        return html[html.index('<div class="org-brand">') : html.index("<h1>")]

    known = block(login_page(Client(), login_hint=adele.email))
    unknown = block(login_page(Client(), login_hint="nobody-here@contoso.example"))
    assert known == unknown
    assert "org-brand" not in login_page(Client(), login_hint="someone@example.com")


def test_standard_shows_the_name_only(contoso: Organization, megan: User) -> None:
    Organization.objects.filter(pk=contoso.pk).update(accent_colour="#0f6cbd", sign_in_text="Hello Contoso")
    html = login_page(Client(), login_hint="@contoso.example")
    assert "Use your Contoso work or school account." in html
    assert "Hello Contoso" not in html and ".css" not in html.split("threshold.css")[-1]
    assert Client().get(f"/organizations/branding/{contoso.public_id}/logo").status_code == 404
    assert Client().get(f"/organizations/branding/{contoso.public_id}.css").content == b""


def test_a_downgrade_hides_custom_branding(branded: Organization) -> None:
    Organization.objects.filter(pk=branded.pk).update(licence=LicenceTier.STANDARD)
    assert "Use your Contoso address." not in login_page(Client(), login_hint="@contoso.example")


# --- Organizations page ------------------------------------------------------------------------------


@pytest.fixture
def fabrikam(db: Any) -> Organization:
    return Organization.objects.create(name="Fabrikam", slug="fabrikam", contact="helpdesk@fabrikam.example")


def test_the_organizations_page_lists_home_and_guest_organisations(
    adele: User, adele_client: Client, fabrikam: Organization
) -> None:
    Membership.objects.create(user=adele, organization=fabrikam, role=Role.MEMBER, home=False)
    html = adele_client.get("/organizations/").content.decode()
    assert "Contoso" in html and "Home organization" in html
    assert "Fabrikam" in html and "helpdesk@fabrikam.example" in html
    assert html.count(">Leave<") == 1  # not the home organisation
    nav = adele_client.get("/").content.decode()
    assert 'href="/organizations/"' in nav


def test_a_guest_leaves(adele: User, adele_client: Client, fabrikam: Organization) -> None:
    guest = Membership.objects.create(user=adele, organization=fabrikam, role=Role.MEMBER, home=False)
    response = adele_client.post(f"/organizations/{guest.public_id}/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=guest.pk).exists()
    assert SecurityEvent.objects.filter(user=adele, code="org:member:leave").exists()
    assert "You left Fabrikam." in adele_client.get("/organizations/").content.decode()


def test_an_organisation_may_keep_its_guests(
    adele: User, adele_client: Client, fabrikam: Organization
) -> None:
    fabrikam.guests_may_leave = False
    fabrikam.save()
    guest = Membership.objects.create(user=adele, organization=fabrikam, role=Role.MEMBER, home=False)
    html = adele_client.get("/organizations/").content.decode()
    assert ">Leave<" not in html and "Managed by Fabrikam:" in html
    response = adele_client.post(f"/organizations/{guest.public_id}/leave/")
    assert "doesn&#x27;t let guests leave" in adele_client.get(response["Location"]).content.decode()
    assert Membership.objects.filter(pk=guest.pk).exists()


def test_the_home_organisation_cannot_be_left(adele: User, adele_client: Client) -> None:
    home = Membership.objects.get(user=adele, home=True)
    adele_client.post(f"/organizations/{home.public_id}/leave/")
    assert Membership.objects.filter(pk=home.pk).exists()


def test_someone_elses_membership_is_not_found(adele: User, fabrikam: Organization) -> None:
    other = make_user("alex@example.com")
    guest = Membership.objects.create(user=other, organization=fabrikam, role=Role.MEMBER, home=False)
    assert signed_in(adele).post(f"/organizations/{guest.public_id}/leave/").status_code == 404


def test_a_personal_account_sees_no_organisations(signed_in_client: Client) -> None:
    html = signed_in_client.get("/organizations/").content.decode()
    assert "doesn't belong to any organization" in html


# --- Retention ------------------------------------------------------------------------------------------


def test_premium_keeps_its_members_sign_ins_longer(
    premium_contoso: Organization, adele: User, set_policy: Any
) -> None:
    set_policy(activity_retention_days=365)
    personal = make_user("alex@example.com")
    old = timezone.now() - timedelta(days=200)
    for user in (adele, personal):
        record_event("account:signin:success", user=user, method="password", occurred_at=old)
    prune_events()
    assert SecurityEvent.objects.filter(user=adele, code="account:signin:success").count() == 1
    assert not SecurityEvent.objects.filter(user=personal, code="account:signin:success").exists()
    Organization.objects.filter(pk=premium_contoso.pk).update(licence=LicenceTier.STANDARD)
    prune_events()
    assert not SecurityEvent.objects.filter(user=adele, code="account:signin:success").exists()


# --- Demo -------------------------------------------------------------------------------------------------


def test_the_demo_organisations(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path
    call_command("demo", stdout=StringIO())
    contoso = Organization.objects.get(slug="contoso")
    fabrikam = Organization.objects.get(slug="fabrikam")
    assert contoso.licence == LicenceTier.PREMIUM and contoso.verified_domains == ["contoso.com"]
    assert fabrikam.licence == LicenceTier.STANDARD and fabrikam.verified_domains == ["fabrikam.com"]
    policy = OrganizationPolicy.objects.get(organization=contoso)
    assert policy.require_two_step and policy.two_step_grace_days == 14 and policy.lock_names
    assert "HR directory" in policy.profile_lock_reason
    megan = User.objects.get(email="megan.bowen@contoso.com")
    assert Membership.objects.get(user=megan, organization=contoso).role == Role.GLOBAL_ADMIN
    adele = User.objects.get(email="adele.vance@contoso.com")
    assert Membership.objects.get(user=adele, home=True).organization == contoso
    assert Membership.objects.filter(user=adele, organization=fabrikam, home=False).exists()
    assert Membership.objects.filter(organization=fabrikam, role=Role.GLOBAL_ADMIN).count() == 1
    state = (
        list(Organization.objects.values_list("slug", "licence")),
        list(OrganizationPolicy.objects.values_list("organization_id", "updated_at")),
        list(Membership.objects.values_list("user_id", "organization_id", "role", "home")),
    )
    call_command("demo", stdout=StringIO())
    assert state == (
        list(Organization.objects.values_list("slug", "licence")),
        list(OrganizationPolicy.objects.values_list("organization_id", "updated_at")),
        list(Membership.objects.values_list("user_id", "organization_id", "role", "home")),
    )
