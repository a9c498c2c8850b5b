"""The write functions the admin console calls: policies, branding, members, roles, guests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from tests.accounts.images import small_gif
from tests.config.staff_support import staff_operator
from tests.conftest import make_user
from tests.orgs.conftest import signed_in, work_account
from tests.security.conftest import Commits
from threshold.accounts.models import AccountKind, User
from threshold.activity.models import SecurityEvent
from threshold.orgs import licences, services
from threshold.orgs.models import (
    LicenceTier,
    Membership,
    Organization,
    OrganizationPolicy,
    Role,
    UnfamiliarSignIn,
)

pytestmark = pytest.mark.django_db


# --- Policy changes -------------------------------------------------------------------------------


def test_a_policy_change_records_who_changed_what_from_what_to_what(megan: User, set_policy: Any) -> None:
    set_policy(password_min_length=12, lock_names=True)
    events = {e.details["field"]: e for e in SecurityEvent.objects.filter(code="org:policy:change")}
    assert set(events) == {"password_min_length", "lock_names"}
    assert events["password_min_length"].details["from"] == 8
    assert events["password_min_length"].details["to"] == 12
    assert events["lock_names"].details["from"] is False and events["lock_names"].details["to"] is True
    assert all(e.user_id == megan.pk and e.details["organization"] == "Contoso" for e in events.values())
    set_policy(password_min_length=12)  # no change, no event
    assert SecurityEvent.objects.filter(code="org:policy:change").count() == 2


def test_the_admin_sees_the_change_on_their_recent_activity(megan: User, set_policy: Any) -> None:
    set_policy(password_min_length=14)
    event = SecurityEvent.objects.get(code="org:policy:change")
    page = signed_in(megan).get(f"/activity/{event.pk}/").content.decode()
    assert "Organization policy changed" in page
    assert "minimum password length" in page
    assert re.search(r"Before</dt>\s*<dd>8</dd>", page) and re.search(r"After</dt>\s*<dd>14</dd>", page)


def test_only_a_global_admin_of_this_organisation_changes_its_policy(
    contoso: Organization, adele: User, megan: User
) -> None:
    fabrikam = Organization.objects.create(name="Fabrikam", slug="fabrikam")
    helpdesk = work_account(contoso, "helpdesk@contoso.example", role=Role.HELPDESK_ADMIN)
    for actor, organization in ((adele, contoso), (helpdesk, contoso), (megan, fabrikam)):
        with pytest.raises(PermissionDenied):
            services.update_policy(
                organization=organization, actor=actor, request=None, changes={"lock_names": True}
            )
    assert not OrganizationPolicy.objects.filter(lock_names=True).exists()


def test_turning_on_required_two_step_starts_the_grace_period_now(set_policy: Any) -> None:
    policy = set_policy(require_two_step=True)
    assert policy.two_step_required_since is not None


# --- Licences -----------------------------------------------------------------------------------------


def test_premium_policy_settings_need_premium(contoso: Organization, set_policy: Any) -> None:
    for changes in ({"unfamiliar_sign_in": UnfamiliarSignIn.BLOCK}, {"activity_retention_days": 365}):
        with pytest.raises(ValidationError) as raised:
            set_policy(**changes)
        assert "Available with Premium" in str(raised.value)
    contoso.licence = LicenceTier.PREMIUM
    contoso.save()
    assert set_policy(unfamiliar_sign_in=UnfamiliarSignIn.BLOCK).unfamiliar_sign_in == UnfamiliarSignIn.BLOCK
    assert set_policy(activity_retention_days=365).activity_retention_days == 365


def test_the_licence_check_for_the_sign_in_report(contoso: Organization) -> None:
    decision = licences.feature_decision(contoso, licences.Feature.SIGN_IN_REPORT_EXPORT)
    assert not decision.allowed and decision.reason_code == "licence_required"
    assert "Available with Premium" in decision.message
    contoso.licence = LicenceTier.PREMIUM
    assert licences.feature_decision(contoso, licences.Feature.SIGN_IN_REPORT_EXPORT).allowed


def test_safety_features_are_never_gated() -> None:
    gated = {str(f) for f in licences.Feature}
    for safety in ("two_step", "passkey", "password_reset", "alert", "lock"):
        assert not any(safety in name for name in gated)


def test_branding_needs_premium(contoso: Organization, megan: User) -> None:
    with pytest.raises(ValidationError, match="Available with Premium"):
        services.update_branding(
            organization=contoso, actor=megan, request=None, changes={"accent_colour": "#0f6cbd"}
        )


def test_branding_is_validated_and_recorded(premium_contoso: Organization, megan: User) -> None:
    with pytest.raises(ValidationError):
        services.update_branding(
            organization=premium_contoso, actor=megan, request=None, changes={"accent_colour": "red;}"}
        )
    with pytest.raises(ValidationError):
        services.update_branding(
            organization=premium_contoso, actor=megan, request=None, changes={}, logo=b"<html>"
        )
    changed = services.update_branding(
        organization=premium_contoso,
        actor=megan,
        request=None,
        changes={"accent_colour": "#0f6cbd", "sign_in_text": "Use your Contoso address."},
        logo=small_gif(),
    )
    assert changed == ["accent_colour", "sign_in_text", "logo"]
    row = Organization.objects.get(pk=premium_contoso.pk)
    assert row.accent_colour == "#0f6cbd" and bytes(row.logo or b"").startswith(b"RIFF")
    assert SecurityEvent.objects.filter(user=megan, code="org:branding:update").exists()


# --- Members ------------------------------------------------------------------------------------------


def test_invite_creates_a_work_account_and_mails_a_set_up_link(
    contoso: Organization, megan: User, mailbox: Any, commits: Any
) -> None:
    from tests.conftest import PASSWORD

    with commits(execute=True):
        member = services.invite_member(
            organization=contoso, actor=megan, request=None, email="Lynne@Contoso.example", given_name="Lynne"
        )
    assert member.kind == AccountKind.WORK and member.organization == contoso
    assert not member.has_usable_password()
    assert Membership.objects.get(user=member).home
    assert SecurityEvent.objects.filter(user=member, code="org:member:add").exists()
    (message,) = mailbox.to("lynne@contoso.example")
    link = re.search(r"https?://[^/\s]+(/organizations/welcome/[\w-]+/)", mailbox.text(message))
    assert link, mailbox.text(message)
    path = link.group(1)
    client = Client()
    assert "Choose its password" in client.get(path).content.decode()
    response = client.post(path, {"password1": "contoso", "password2": "contoso"})
    assert response.status_code == 400  # too short: nothing spent
    with commits(execute=True):
        response = client.post(path, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    member.refresh_from_db()
    assert member.check_password(PASSWORD)
    assert SecurityEvent.objects.filter(user=member, code="org:invitation:accept").exists()
    assert client.get(path).status_code == 404  # one use
    response = client.post(
        path, {"password1": "another long passphrase 9", "password2": "another long passphrase 9"}
    )
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_an_expired_invitation_link_does_nothing(
    contoso: Organization, megan: User, mailbox: Any, commits: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from threshold.orgs.models import Invitation

    with commits(execute=True):
        services.invite_member(organization=contoso, actor=megan, request=None, email="lynne@contoso.example")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    link = re.search(
        r"(/organizations/welcome/[\w-]+/)", mailbox.text(mailbox.to("lynne@contoso.example")[0])
    )
    assert link
    assert Client().get(link.group(1)).status_code == 404


def test_invite_refuses_another_domain_and_an_existing_address(contoso: Organization, megan: User) -> None:
    with pytest.raises(ValidationError, match="verified domains"):
        services.invite_member(organization=contoso, actor=megan, request=None, email="x@gmail.example")
    with pytest.raises(ValidationError, match="already exists"):
        services.invite_member(organization=contoso, actor=megan, request=None, email=megan.email)


def test_roles_change_and_the_last_global_admin_stays(
    contoso: Organization, megan: User, adele: User, mailbox: Any, commits: Any
) -> None:
    with commits(execute=True):
        assert services.set_member_role(
            organization=contoso, actor=megan, request=None, member=adele, role=Role.HELPDESK_ADMIN
        )
    event = SecurityEvent.objects.get(user=adele, code="org:member:role")
    assert event.details["from"] == "Member" and event.details["to"] == "Helpdesk admin"
    assert "changed from Member to Helpdesk admin" in mailbox.text(mailbox.to(adele.email)[-1])
    with pytest.raises(ValidationError, match="at least one global admin"):
        services.set_member_role(
            organization=contoso, actor=megan, request=None, member=megan, role=Role.MEMBER
        )
    with pytest.raises(PermissionDenied):
        services.set_member_role(
            organization=contoso, actor=adele, request=None, member=adele, role=Role.GLOBAL_ADMIN
        )


def test_another_organisations_member_is_not_found(contoso: Organization, megan: User) -> None:
    fabrikam = Organization.objects.create(name="Fabrikam", slug="fabrikam")
    lidia = work_account(fabrikam, "lidia@fabrikam.example")
    with pytest.raises(Membership.DoesNotExist):
        services.set_member_role(
            organization=contoso, actor=megan, request=None, member=lidia, role=Role.MEMBER
        )
    with pytest.raises(Membership.DoesNotExist):
        services.remove_member(organization=contoso, actor=megan, request=None, member=lidia)


def test_removing_a_home_member_turns_the_account_off(
    contoso: Organization, megan: User, adele: User
) -> None:
    client = signed_in(adele)
    services.remove_member(organization=contoso, actor=megan, request=None, member=adele)
    adele.refresh_from_db()
    assert not adele.is_active
    assert client.get("/").status_code == 302
    assert SecurityEvent.objects.filter(user=adele, code="org:member:remove").exists()


def test_adding_a_guest(contoso: Organization, megan: User) -> None:
    alex = make_user("alex@example.com")
    row = services.add_member(organization=contoso, actor=megan, request=None, user=alex)
    assert not row.home and row.role == Role.MEMBER
    with pytest.raises(ValidationError):
        services.add_member(organization=contoso, actor=megan, request=None, user=alex)


# --- The operator, in the staff admin -------------------------------------------------------------------


def test_the_operator_sets_the_licence_and_policies_in_the_staff_admin(
    contoso: Organization, commits: Commits
) -> None:
    staff = staff_operator(commits, "operator@example.com")
    operator, client = staff.user, staff.client
    url = f"/staff/orgs/organization/{contoso.pk}/change/"
    assert client.get(url).status_code == 200
    data = {
        "name": "Contoso",
        "slug": "contoso",
        "licence": "premium",
        "verified_domains": '["contoso.example"]',
        "contact": "it-help@contoso.example",
        "guests_may_leave": "on",
        "accent_colour": "#0f6cbd",
        "sign_in_text": "",
        "policy-TOTAL_FORMS": "1",
        "policy-INITIAL_FORMS": "0",
        "policy-MIN_NUM_FORMS": "0",
        "policy-MAX_NUM_FORMS": "1",
        "policy-0-organization": str(contoso.pk),
        "policy-0-two_step_grace_days": "14",
        "policy-0-text_messages": "everyone",
        "policy-0-self_service_password_reset": "on",
        "policy-0-reset_methods_required": "1",
        "policy-0-password_min_length": "10",
        "policy-0-password_banned_words": "[]",
        "policy-0-lock_names": "on",
        "policy-0-members_may_close_account": "on",
        "policy-0-members_may_remove_devices": "on",
        "policy-0-unfamiliar_sign_in": "allow",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    contoso.refresh_from_db()
    assert contoso.licence == LicenceTier.PREMIUM
    policy = OrganizationPolicy.objects.get(organization=contoso)
    assert policy.lock_names and policy.password_min_length == 10
    changes = SecurityEvent.objects.filter(code="org:policy:change", user=operator)
    assert {e.details["field"] for e in changes} == {"lock_names", "password_min_length"}
