"""Each admin action's effect on the member's account, and what the member sees of it on their
own Recent activity and in their mail; the helpdesk role's limits; fresh sign-in and throttling."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, Clock, Mailbox
from tests.orgs import console_support as support
from tests.orgs.console_support import World, is_signed_in, member_url, membership_of, signed_in
from tests.security.conftest import add_authenticator_app, browser, sign_in, turn_on_two_step
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.devices.models import TrustedDevice
from threshold.orgs.console import actions
from threshold.orgs.models import Membership, Role
from threshold.recovery.models import TemporaryAccessPass
from threshold.security.models import RecoveryCode, SignInMethod

pytestmark = pytest.mark.django_db

_english, world, commits = support._english, support.world, support.commits
megan_client, harry_client, adele_client = support.megan_client, support.harry_client, support.adele_client


def secret_on(response: Any) -> str:
    match = re.search(r'data-testid="secret">([^<]+)<', response.content.decode())
    assert match, response.content.decode()[:3000]
    return html.unescape(match.group(1))


def recent_activity(client: Client) -> str:
    response = client.get("/activity/")
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def admin_event(code: str, member: User) -> SecurityEvent:
    event = SecurityEvent.objects.filter(code=code, user=member).latest("id")
    return event


# --- Reset password ----------------------------------------------------------------------------


def test_reset_password_gives_a_temporary_password_the_member_must_change(
    world: World, megan_client: Client, adele_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    with commits(execute=True):
        response = megan_client.post(member_url(world.adele, world.contoso, "reset-password"))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    temporary = secret_on(response)
    assert len(temporary) == 27
    # Every session of hers ended; the old password no longer works.
    assert not is_signed_in(adele_client)
    assert sign_in(browser(), world.adele, PASSWORD).status_code == 200
    # The temporary one works, and every page leads to choosing her own.
    client = browser()
    assert sign_in(client, world.adele, temporary).status_code == 302
    assert client.get("/activity/")["Location"] == "/accounts/password/change/"
    page = client.get("/accounts/password/change/").content.decode()
    assert "Choose your own password to continue." in page
    new = "a fresh and private passphrase 77"
    changed = client.post(
        "/accounts/password/change/", {"oldpassword": temporary, "password1": new, "password2": new}
    )
    assert changed.status_code == 302
    world.adele.refresh_from_db()
    assert not world.adele.must_change_password
    assert "Your admin reset your password" in recent_activity(client)
    event = admin_event("org:admin:password_reset", world.adele)
    assert event.actor_label == "megan@contoso.example" and event.actor_public_id == world.megan.public_id
    assert event.details["admin"] == "Megan" and event.details["organization"] == "Contoso"
    alert = mailbox.to("adele@contoso.example")[0]
    assert "Megan, an admin of Contoso, reset the password of your work account." in Mailbox.text(alert)
    assert temporary not in Mailbox.text(alert)


def test_the_temporary_password_is_shown_once_and_never_stored(world: World, megan_client: Client) -> None:
    response = megan_client.post(member_url(world.adele, world.contoso, "reset-password"))
    temporary = secret_on(response)
    assert temporary not in megan_client.get(member_url(world.adele, world.contoso)).content.decode()
    assert all(temporary not in str(e.details) for e in SecurityEvent.objects.all())
    world.adele.refresh_from_db()
    assert world.adele.password.startswith("argon2") and temporary not in world.adele.password


# --- Require new sign-in methods ------------------------------------------------------------------


def test_require_new_methods_removes_them_and_asks_for_set_up_at_next_sign_in(
    world: World, megan_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    adele = signed_in(world.adele)
    add_authenticator_app(adele, commits)
    assert len(turn_on_two_step(adele, commits)) == 10
    assert SignInMethod.objects.filter(user=world.adele).count() == 1
    mailbox.clear()
    with commits(execute=True):
        response = megan_client.post(member_url(world.adele, world.contoso, "reset-methods"))
    assert response.status_code == 302
    assert not SignInMethod.objects.filter(user=world.adele).exists()
    assert not Authenticator.objects.filter(user=world.adele).exists()
    assert not RecoveryCode.objects.filter(user=world.adele).exists()
    assert not is_signed_in(adele)
    assert membership_of(world.adele, world.contoso).methods_reset_at is not None
    # Next sign-in: the password alone (no method left), then the set-up before anything else.
    client = browser()
    assert sign_in(client, world.adele).status_code == 302
    assert client.get("/")["Location"] == "/organizations/set-up/"
    page = html.unescape(client.get("/organizations/set-up/").content.decode())
    assert "Your admin at Contoso asked you to set up your sign-in methods again." in page
    assert "Not now" not in page
    assert client.get("/activity/")["Location"] == "/organizations/set-up/"
    # Once a method is set up and two-step verification is on, the way is open again.
    add_authenticator_app(client, commits)
    client.post("/security/two-step/on/")
    assert client.get("/").status_code == 200
    assert "Your admin asked you to set up your sign-in methods again" in recent_activity(client)
    event = admin_event("org:admin:methods_reset", world.adele)
    assert event.details["methods_removed"] == 1 and event.actor_public_id == world.megan.public_id
    assert any("removed your sign-in methods" in Mailbox.text(m) for m in mailbox.to("adele@contoso.example"))


# --- Sign out everywhere -----------------------------------------------------------------------------


def test_sign_out_everywhere_ends_sessions_and_trusted_devices(
    world: World, megan_client: Client, commits: Any
) -> None:
    first, second = signed_in(world.adele), signed_in(world.adele)
    TrustedDevice.objects.create(
        user=world.adele, token_hash="x" * 64, expires_at=timezone.now() + timedelta(days=30)
    )
    with commits(execute=True):
        response = megan_client.post(member_url(world.adele, world.contoso, "sign-out"))
    assert response.status_code == 302
    assert not is_signed_in(first) and not is_signed_in(second)
    assert not TrustedDevice.objects.filter(user=world.adele, revoked_at__isnull=True).exists()
    event = admin_event("org:admin:sessions_revoke", world.adele)
    assert event.details["sessions_ended"] == 2 and event.details["trust_ended"] == 1
    assert "Your admin signed you out everywhere" in recent_activity(signed_in(world.adele))


# --- Temporary Access Pass -----------------------------------------------------------------------------


def test_a_temporary_access_pass_is_issued_by_the_admin_and_shown_once(
    world: World, megan_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    with commits(execute=True):
        response = megan_client.post(
            member_url(world.adele, world.contoso, "access-pass"), {"minutes": "60", "one_time": "on"}
        )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plain = secret_on(response)
    access_pass = TemporaryAccessPass.objects.get(user=world.adele)
    assert access_pass.issued_by == world.megan and access_pass.one_time and access_pass.is_live
    assert plain not in access_pass.pass_hash
    client = browser()
    signed = client.post("/recover/access-pass/", {"email": world.adele.email, "access_pass": plain})
    assert signed.status_code == 302 and signed["Location"] == "/recover/set-up/"
    assert admin_event("account:access_pass:issue", world.adele).actor_public_id == world.megan.public_id
    assert admin_event("org:admin:access_pass_issue", world.adele).details["minutes"] == 60
    assert "Your admin issued a Temporary Access Pass" in recent_activity(signed_in(world.adele))
    # One alert (the pass's own), not two.
    assert len(mailbox.to("adele@contoso.example")) == 1


def test_a_pass_outside_its_bounds_is_refused_with_the_reason(world: World, megan_client: Client) -> None:
    response = megan_client.post(
        member_url(world.adele, world.contoso, "access-pass"), {"minutes": "5"}, follow=True
    )
    assert "Ensure this value is greater than or equal to 10." in html.unescape(response.content.decode())
    assert not TemporaryAccessPass.objects.exists()


# --- Block and unblock ---------------------------------------------------------------------------------


def test_block_refuses_every_sign_in_until_unblocked(
    world: World, megan_client: Client, adele_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    with commits(execute=True):
        assert megan_client.post(member_url(world.adele, world.contoso, "block")).status_code == 302
    world.adele.refresh_from_db()
    assert not world.adele.is_active
    assert not is_signed_in(adele_client)
    refused = sign_in(browser(), world.adele)
    assert refused.status_code == 302 and refused["Location"] == "/accounts/inactive/"
    inactive = html.unescape(browser().get("/accounts/inactive/").content.decode())
    assert "its organization's admins may have blocked sign-in" in inactive
    # Her own password reset by email can't lift it: no mail goes out.
    mailbox.clear()
    with commits(execute=True):
        browser().post("/accounts/password/reset/", {"email": world.adele.email})
    assert not [m for m in mailbox.to("adele@contoso.example") if "reset" in str(m["Subject"]).lower()]
    members = megan_client.get("/admin-console/?show=blocked").content.decode()
    assert "adele@contoso.example" in members and "harry@contoso.example" not in members
    with commits(execute=True):
        assert megan_client.post(member_url(world.adele, world.contoso, "unblock")).status_code == 302
    client = signed_in(world.adele)
    activity = recent_activity(client)
    assert "Your admin blocked sign-in" in activity and "Your admin unblocked sign-in" in activity
    codes = [e.code for e in SecurityEvent.objects.filter(user=world.adele).order_by("id")]
    assert codes.count("org:admin:block") == 1 and codes.count("org:admin:unblock") == 1


def test_block_and_lock_my_account_never_undo_each_other(
    world: World, megan_client: Client, adele_client: Client, commits: Any
) -> None:
    with commits(execute=True):
        adele_client.post("/devices/lock/")
    world.adele.refresh_from_db()
    assert world.adele.locked_at is not None
    megan_client.post(member_url(world.adele, world.contoso, "block"))
    megan_client.post(member_url(world.adele, world.contoso, "unblock"))
    world.adele.refresh_from_db()
    assert world.adele.is_active and world.adele.locked_at is not None  # her lock stands
    # Her lock lifted by a password reset leaves an admin's block in place.
    megan_client.post(member_url(world.adele, world.contoso, "block"))
    from threshold.devices.services import unlock_account

    unlock_account(user=world.adele, request=None, via="password_reset")
    world.adele.refresh_from_db()
    assert world.adele.locked_at is None and not world.adele.is_active


# --- Remove ------------------------------------------------------------------------------------------


def test_removing_a_home_member_turns_off_and_closes_the_work_account(
    world: World, megan_client: Client, adele_client: Client, commits: Any, mailbox: Mailbox
) -> None:
    url = member_url(world.adele, world.contoso)
    with commits(execute=True):
        response = megan_client.post(url + "remove/")
    assert response.status_code == 302 and response["Location"] == "/admin-console/"
    world.adele.refresh_from_db()
    assert not world.adele.is_active and not is_signed_in(adele_client)
    assert world.adele.closes_at is not None
    assert timedelta(days=29) < world.adele.closes_at - timezone.now() <= timedelta(days=30)
    assert not Membership.objects.filter(user=world.adele).exists()
    assert megan_client.get(url).status_code == 404
    event = admin_event("org:admin:member_remove", world.adele)
    assert event.details["home"] is True and event.details["closes_on"]
    text = Mailbox.text(mailbox.to("adele@contoso.example")[-1])
    assert "Megan, an admin of Contoso, removed you from Contoso." in text
    assert "will be closed on" in text
    # The audit log keeps it.
    assert "adele@contoso.example" in megan_client.get("/admin-console/audit/").content.decode()


def test_removing_a_guest_ends_only_the_membership(world: World, megan_client: Client) -> None:
    megan_client.post(member_url(world.alex, world.contoso, "remove"))
    world.alex.refresh_from_db()
    assert world.alex.is_active and world.alex.closes_at is None
    assert not Membership.objects.filter(user=world.alex, organization=world.contoso).exists()
    assert "You were removed from the organization by an admin" in recent_activity(signed_in(world.alex))
    event = admin_event("org:admin:member_remove", world.alex)
    assert event.details["home"] is False and event.details["org_id"] == str(world.contoso.public_id)


def test_a_guests_sign_in_is_not_the_organisations_to_change(world: World, megan_client: Client) -> None:
    for action in ("reset-password", "reset-methods", "sign-out", "block"):
        response = megan_client.post(member_url(world.alex, world.contoso, action), follow=True)
        assert "is a guest: their account belongs to someone else" in html.unescape(response.content.decode())
    world.alex.refresh_from_db()
    assert (
        world.alex.is_active and world.alex.check_password(PASSWORD) and not world.alex.must_change_password
    )
    assert not SecurityEvent.objects.filter(user=world.alex, code__startswith="org:admin:").exists()


def test_the_last_global_admin_cannot_be_removed_or_demoted(world: World) -> None:
    other = support.work_account(world.contoso, "nestor@contoso.example", role=Role.GLOBAL_ADMIN)
    client = signed_in(other)
    response = client.post(member_url(world.megan, world.contoso, "remove"))
    assert response.status_code == 302
    assert not Membership.objects.filter(user=world.megan).exists()
    # Now Nestor is the only global admin: he can't demote himself.
    refused = client.post(
        f"/admin-console/admins/{membership_of(other, world.contoso).public_id}/role/",
        {"role": Role.MEMBER},
        follow=True,
    )
    assert "Contoso needs at least one global admin." in html.unescape(refused.content.decode())
    assert membership_of(other, world.contoso).role == Role.GLOBAL_ADMIN


def test_admins_page_promotes_and_demotes(world: World, megan_client: Client, commits: Any) -> None:
    url = f"/admin-console/admins/{membership_of(world.adele, world.contoso).public_id}/role/"
    page = megan_client.get("/admin-console/admins/").content.decode()
    assert "harry@contoso.example" in page and "adele@contoso.example" in page
    with commits(execute=True):
        assert megan_client.post(url, {"role": Role.HELPDESK_ADMIN}).status_code == 302
    assert membership_of(world.adele, world.contoso).role == Role.HELPDESK_ADMIN
    megan_client.post(url, {"role": Role.MEMBER})
    assert membership_of(world.adele, world.contoso).role == Role.MEMBER
    # A guest can't be made an admin.
    guest_url = f"/admin-console/admins/{membership_of(world.alex, world.contoso).public_id}/role/"
    megan_client.post(guest_url, {"role": Role.GLOBAL_ADMIN})
    assert membership_of(world.alex, world.contoso).role == Role.MEMBER


# --- The helpdesk role ----------------------------------------------------------------------------------


def test_a_helpdesk_admin_helps_members_but_not_global_admins(
    world: World, harry_client: Client, commits: Any
) -> None:
    response = harry_client.post(member_url(world.adele, world.contoso, "reset-password"))
    assert response.status_code == 200 and secret_on(response)
    assert harry_client.post(member_url(world.adele, world.contoso, "sign-out")).status_code == 302
    assert harry_client.post(member_url(world.adele, world.contoso, "block")).status_code == 302
    assert harry_client.post(member_url(world.adele, world.contoso, "unblock")).status_code == 302
    for action in ("reset-password", "reset-methods", "sign-out", "access-pass", "block"):
        refused = harry_client.post(member_url(world.megan, world.contoso, action), {"minutes": "60"})
        assert refused.status_code == 403, action
        assert "A helpdesk admin can't change a global admin's account." in html.unescape(
            refused.content.decode()
        )
    world.megan.refresh_from_db()
    assert world.megan.is_active and world.megan.check_password(PASSWORD)
    assert harry_client.post(member_url(world.adele, world.contoso, "remove")).status_code == 403
    assert Membership.objects.filter(user=world.adele, organization=world.contoso).exists()
    denial = SecurityEvent.objects.filter(code="account:policy:deny", user=world.harry).latest("id")
    assert denial.details["reason"] == "helpdesk_on_global_admin"


def test_the_member_page_offers_a_helpdesk_admin_only_what_they_may_do(
    world: World, harry_client: Client
) -> None:
    page = html.unescape(harry_client.get(member_url(world.adele, world.contoso)).content.decode())
    assert "Reset password" in page and "Block sign-in" in page and "Remove from Contoso" not in page
    page = html.unescape(harry_client.get(member_url(world.megan, world.contoso)).content.decode())
    assert "Reset password" not in page
    nav = harry_client.get("/admin-console/").content.decode()
    assert "/admin-console/policies/" not in nav and "/admin-console/audit/" in nav


def test_an_admin_cannot_use_the_console_on_their_own_account(world: World, megan_client: Client) -> None:
    response = megan_client.post(member_url(world.megan, world.contoso, "block"))
    assert response.status_code == 403
    world.megan.refresh_from_db()
    assert world.megan.is_active


# --- Fresh sign-in and throttling ------------------------------------------------------------------------


def test_admin_actions_need_a_recent_sign_in(world: World, megan_client: Client, clock: Clock) -> None:
    clock.advance(11 * 60)
    url = member_url(world.adele, world.contoso, "reset-password")
    response = megan_client.post(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    world.adele.refresh_from_db()
    assert world.adele.check_password(PASSWORD) and not world.adele.must_change_password
    for action in ("block", "sign-out", "reset-methods", "remove"):
        assert megan_client.post(member_url(world.adele, world.contoso, action))["Location"].startswith(
            "/accounts/reauthenticate/"
        )
    world.adele.refresh_from_db()
    assert world.adele.is_active


def test_passes_and_passwords_are_throttled_per_admin(
    world: World, megan_client: Client, settings: Any, clock: Clock
) -> None:
    # The limit counts in fixed windows: start well inside one, so that no window ends mid-test.
    into_window = time.time() % actions.THROTTLE_SECONDS
    if into_window > actions.THROTTLE_SECONDS - 60:
        clock.advance(actions.THROTTLE_SECONDS - into_window + 1)
    url = member_url(world.adele, world.contoso, "access-pass")
    for _ in range(actions.THROTTLE_LIMIT):
        assert megan_client.post(url, {"minutes": "60"}).status_code == 200
    refused = megan_client.post(url, {"minutes": "60"}, follow=True)
    assert "You've done this many times in the last few minutes." in html.unescape(refused.content.decode())
    assert TemporaryAccessPass.objects.filter(user=world.adele).count() == actions.THROTTLE_LIMIT


def test_a_new_password_and_new_methods_together_lead_through_both_in_turn(
    world: World, megan_client: Client, commits: Any
) -> None:
    """A member who signed in with a passkey alone needs both; neither page loops to the other."""
    megan_client.post(member_url(world.adele, world.contoso, "reset-methods"))
    temporary = secret_on(megan_client.post(member_url(world.adele, world.contoso, "reset-password")))
    client = browser()
    assert sign_in(client, world.adele, temporary).status_code == 302
    assert client.get("/")["Location"] == "/accounts/password/change/"
    assert client.get("/accounts/password/change/").status_code == 200
    new = "a fresh and private passphrase 77"
    client.post("/accounts/password/change/", {"oldpassword": temporary, "password1": new, "password2": new})
    assert client.get("/")["Location"] == "/organizations/set-up/"
    assert client.get("/organizations/set-up/").status_code == 200
