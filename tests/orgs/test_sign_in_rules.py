"""Required two-step verification with its grace period, session limits and unfamiliar sign-ins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import Mailbox
from tests.orgs.conftest import signed_in
from tests.orgs.test_locks import passkey_of
from tests.security.conftest import OTHER_UA, browser, sign_in
from threshold.accounts.models import User
from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.context import RequestContext
from threshold.orgs.models import Membership, Organization, OrganizationPolicy, UnfamiliarSignIn
from threshold.security.models import SecuritySettings, SignInMethod

pytestmark = pytest.mark.django_db


def move_grace_back(organization: Organization, user: User, days: int) -> None:
    """As if two-step verification had been required, and the person a member, ``days`` days ago."""
    then = timezone.now() - timedelta(days=days)
    OrganizationPolicy.objects.filter(organization=organization).update(two_step_required_since=then)
    Membership.objects.filter(user=user).update(created_at=then)


def test_during_the_grace_period_members_are_asked_at_each_sign_in_and_may_skip(
    adele: User, set_policy: Any
) -> None:
    set_policy(require_two_step=True, two_step_grace_days=14)
    client = signed_in(adele)
    response = client.get("/devices/")
    assert response.status_code == 302 and response["Location"].startswith("/organizations/set-up/")
    page = client.get(response["Location"]).content.decode()
    assert "Contoso requires two-step verification" in page and "Not now" in page
    response = client.post("/organizations/set-up/", {"next": "/devices/"})
    assert response["Location"] == "/devices/"
    assert client.get("/devices/").status_code == 200  # asked once per sign-in
    assert SecurityEvent.objects.filter(user=adele, code="org:enrolment:skip").count() == 1

    again = signed_in(adele)  # the next sign-in asks again
    assert again.get("/").status_code == 302


def test_after_the_grace_period_members_must_set_up_before_going_on(adele: User, set_policy: Any) -> None:
    set_policy(require_two_step=True, two_step_grace_days=14)
    move_grace_back(adele.organization, adele, days=13)  # type: ignore[arg-type]
    client = signed_in(adele)
    assert client.get("/").status_code == 302
    client.post("/organizations/set-up/")
    assert client.get("/").status_code == 200  # still inside the grace period

    move_grace_back(adele.organization, adele, days=15)  # type: ignore[arg-type]
    client = signed_in(adele)
    for path in ("/", "/devices/", "/your-info/", "/activity/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/organizations/set-up/", path
    page = client.get("/organizations/set-up/").content.decode()
    assert "Not now" not in page and "has passed" in page
    response = client.post("/organizations/set-up/")
    assert response["Location"] == "/organizations/set-up/"  # no skipping any more
    assert client.get("/security/").status_code == 200  # where it is set up
    assert client.get("/security/add/").status_code == 200

    passkey_of(adele, "Laptop")
    SecuritySettings.objects.update_or_create(user=adele, defaults={"two_step_enabled": True})
    assert client.get("/").status_code == 200


def test_without_the_policy_nobody_is_asked(adele: User, set_policy: Any) -> None:
    set_policy(require_two_step=False)
    assert signed_in(adele).get("/").status_code == 200


def test_admins_are_asked_for_a_passkey(megan: User, adele: User, set_policy: Any) -> None:
    set_policy(require_passkey_for_admins=True)
    response = signed_in(megan).get("/")
    assert response.status_code == 302
    page = signed_in(megan).get("/organizations/set-up/").content.decode()
    assert "passkey" in page
    assert signed_in(adele).get("/").status_code == 200  # members are not
    passkey_of(megan, "Key")
    assert signed_in(megan).get("/").status_code == 200


# --- Session lifetime and sign-in frequency -------------------------------------------------------


def test_session_lifetime_signs_out(adele: User, set_policy: Any, clock: Any) -> None:
    client = signed_in(adele)
    set_policy(session_lifetime_hours=8)
    clock.advance(7 * 3600)
    assert client.get("/").status_code == 200
    clock.advance(2 * 3600)
    response = client.get("/devices/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 302  # signed out, not just redirected


def test_without_a_lifetime_sessions_last(adele: User, clock: Any) -> None:
    from tests.conftest import PASSWORD

    client = browser()
    response = client.post("/accounts/login/", {"login": adele.email, "password": PASSWORD, "remember": "on"})
    assert response.status_code == 302
    clock.advance(48 * 3600)
    assert client.get("/").status_code == 200  # "Keep me signed in": its 30 days


def test_the_session_lifetime_overrides_keep_me_signed_in(adele: User, set_policy: Any, clock: Any) -> None:
    from tests.conftest import PASSWORD

    set_policy(session_lifetime_hours=8)
    client = browser()
    response = client.post("/accounts/login/", {"login": adele.email, "password": PASSWORD, "remember": "on"})
    assert response.status_code == 302
    clock.advance(7 * 3600)
    assert client.get("/").status_code == 200
    clock.advance(2 * 3600)
    assert client.get("/").status_code == 302
    assert client.get("/").status_code == 302  # signed out


def test_the_session_lifetime_applies_within_the_idle_time(adele: User, set_policy: Any, clock: Any) -> None:
    set_policy(session_lifetime_hours=1)
    client = signed_in(adele)  # without "Keep me signed in": idle after 12 hours
    clock.advance(3600 + 60)
    assert client.get("/").status_code == 302


def test_sign_in_frequency_asks_for_the_password_again(adele: User, set_policy: Any, clock: Any) -> None:
    from tests.conftest import PASSWORD

    client = signed_in(adele)
    set_policy(sign_in_frequency_hours=4)
    clock.advance(5 * 3600)
    response = client.get("/devices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/?next=%2Fdevices%2F")
    response = client.post("/accounts/reauthenticate/?next=/devices/", {"password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/devices/").status_code == 200


# --- Unfamiliar sign-ins (Premium) ----------------------------------------------------------------


def _history_elsewhere(user: User) -> None:
    record_event(
        "account:signin:success",
        user=user,
        context=RequestContext(ip="89.160.20.112", user_agent=OTHER_UA),
        method="password",
        occurred_at=timezone.now() - timedelta(days=3),
    )


def test_premium_blocks_an_unfamiliar_sign_in(
    adele: User, premium_contoso: Organization, set_policy: Any, mailbox: Any, commits: Any
) -> None:
    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.BLOCK)
    _history_elsewhere(adele)
    client = browser()
    with commits(execute=True):
        response = sign_in(client, adele)
    assert response.status_code == 403
    assert "Sign-in blocked" in response.content.decode()
    assert client.get("/").status_code == 302  # not signed in
    event = SecurityEvent.objects.get(user=adele, code="org:signin:blocked")
    assert event.result == Result.BLOCKED
    assert mailbox.to(adele.email), "the person is alerted"


def test_a_familiar_sign_in_is_not_blocked(
    adele: User, premium_contoso: Organization, set_policy: Any
) -> None:
    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.BLOCK)
    assert sign_in(browser(), adele).status_code == 302  # the first sign-in has nothing to compare with
    assert sign_in(browser(), adele).status_code == 302  # same browser and country


def test_premium_asks_for_a_second_step_on_an_unfamiliar_sign_in(
    adele: User, premium_contoso: Organization, set_policy: Any
) -> None:
    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.SECOND_STEP)
    passkey_of(adele, "Key")  # two-step verification itself stays off
    _history_elsewhere(adele)
    response = sign_in(browser(), adele)
    assert response["Location"] == "/security/verify/"


def test_standard_ignores_the_unfamiliar_sign_in_rule(adele: User, contoso: Organization) -> None:
    # Set before a downgrade: Standard does not apply it.
    OrganizationPolicy.objects.create(organization=contoso, unfamiliar_sign_in=UnfamiliarSignIn.BLOCK)
    _history_elsewhere(adele)
    client = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", REMOTE_ADDR="81.2.69.160"
    )
    assert sign_in(client, adele).status_code == 302
    assert not SecurityEvent.objects.filter(code="org:signin:blocked").exists()


def test_an_unfamiliar_sign_in_with_no_second_method_to_ask_for_is_held(
    adele: User, megan: User, premium_contoso: Organization, set_policy: Any, mailbox: Any, commits: Any
) -> None:
    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.SECOND_STEP)
    _history_elsewhere(adele)  # and Adele has no sign-in method besides her password
    mailbox.clear()
    client = browser()
    with commits(execute=True):
        response = sign_in(client, adele)
    # SECURITY: the password alone does not get through...
    assert response.status_code == 403
    page = response.content.decode()
    assert "Sign-in held" in page
    assert "Temporary Access Pass" in page and "it-help@contoso.example" in page
    assert client.get("/").status_code == 302
    # ...and nothing can be set up from this browser: there is no session to set it up in.
    for path in ("/security/add/", "/accounts/2fa/webauthn/add/", "/accounts/2fa/totp/activate/"):
        refused = client.get(path)
        assert refused.status_code == 302 and refused["Location"].startswith("/accounts/login/"), path
    assert not SignInMethod.objects.filter(user=adele).exists()

    event = SecurityEvent.objects.get(user=adele, code="org:signin:held")
    assert event.result == Result.BLOCKED
    assert catalog.CATALOG["org:signin:held"].org_visible
    # The person hears of it, and so do the organisation's admins, with the way out.
    assert any("held" in Mailbox.text(m) for m in mailbox.to(adele.email))
    told = mailbox.to(megan.email)
    assert len(told) == 1
    text = Mailbox.text(told[0])
    assert "Adele Vance" in text and adele.email in text and "Temporary Access Pass" in text
    assert f"/admin-console/members/{adele.public_id}/access-pass/" in text
    # The console's sign-in log shows it.
    admin = signed_in(megan)
    log = admin.get("/admin-console/sign-ins/?code=org:signin:held").content.decode()
    assert "Sign-in held" in log and adele.email in log


def test_a_familiar_sign_in_with_no_second_method_is_not_held(
    adele: User, premium_contoso: Organization, set_policy: Any
) -> None:
    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.SECOND_STEP)
    assert sign_in(browser(), adele).status_code == 302  # nothing to compare with: familiar
    assert sign_in(browser(), adele).status_code == 302  # same browser and country
    assert not SecurityEvent.objects.filter(code="org:signin:held").exists()


def test_a_temporary_access_pass_is_the_way_out_of_a_held_sign_in(
    adele: User, megan: User, premium_contoso: Organization, set_policy: Any, commits: Any
) -> None:
    from tests.recovery.test_access_pass import pass_signed_in, use_pass
    from threshold.recovery.services.access_pass import issue_access_pass

    set_policy(unfamiliar_sign_in=UnfamiliarSignIn.SECOND_STEP)
    _history_elsewhere(adele)
    client = browser()
    assert sign_in(client, adele).status_code == 403
    with commits(execute=True):
        _pass, plain = issue_access_pass(user=adele, issued_by=megan, request=None)
    response = use_pass(client, adele.email, plain)
    assert response.status_code == 302, response.content[:600]
    assert pass_signed_in(client)
