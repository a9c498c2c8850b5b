"""Turning two-step verification on and off, removing methods, and the guard rails around them."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.utils import timezone

from tests.conftest import PASSWORD, join_as_work_account
from tests.security.conftest import Commits, Person, browser, is_signed_in, oathtool_code, sign_in, verify
from threshold.accounts.models import Organization, PhoneNumber
from threshold.activity.models import SecurityEvent
from threshold.core.errors import FreshSignInRequired, PolicyDenied, Refused
from threshold.security.models import SignInMethod
from threshold.security.selectors.methods import default_method, two_step_enabled, two_step_required
from threshold.security.services.methods import ensure_phone_removable, remove_sign_in_method
from threshold.security.services.two_step import disable_two_step
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 77"


def test_two_step_verification_needs_a_method_first(person: Person) -> None:
    response = person.client.post("/security/two-step/on/", follow=True)
    assert "Add a sign-in method first" in response.content.decode()
    assert not two_step_enabled(person.user)


def test_turning_it_on_and_off_is_recorded(user_with_two_step: Person, commits: Commits) -> None:
    assert two_step_enabled(user_with_two_step.user)
    page = user_with_two_step.client.get("/security/two-step/off/").content.decode()
    assert "Your password alone will then let anyone sign in" in page
    with commits(execute=True):
        response = user_with_two_step.client.post("/security/two-step/off/")
    assert response["Location"] == "/security/"
    assert not two_step_enabled(user_with_two_step.user)
    codes = set(SecurityEvent.objects.filter(user=user_with_two_step.user).values_list("code", flat=True))
    assert {"account:2sv:enable", "account:2sv:disable", "account:recovery_codes:generate"} <= codes
    assert sign_in(browser(), user_with_two_step.user)["Location"] == "/"


def test_turning_it_off_needs_a_recent_sign_in(user_with_two_step: Person, clock: Any) -> None:
    clock.advance(10 * 60 + 1)
    client = user_with_two_step.client
    assert client.get("/security/two-step/off/")["Location"].startswith("/accounts/reauthenticate/")
    assert client.post("/security/two-step/off/")["Location"].startswith("/accounts/reauthenticate/")
    with pytest.raises(FreshSignInRequired):
        disable_two_step(user=user_with_two_step.user, request=None)
    assert two_step_enabled(user_with_two_step.user)

    # Signing in again (here with the password) makes the session fresh again.
    response = client.post("/accounts/reauthenticate/?next=/security/two-step/off/", {"password": PASSWORD})
    assert response["Location"] == "/security/two-step/off/"
    client.post("/security/two-step/off/")
    assert not two_step_enabled(user_with_two_step.user)


def test_the_fresh_sign_in_window_is_ten_minutes(person: Person, clock: Any) -> None:
    request = person.client.get("/security/").wsgi_request
    ensure_fresh_sign_in(request=request, user=person.user)
    clock.advance(9 * 60 + 50)
    ensure_fresh_sign_in(request=request, user=person.user)
    clock.advance(11)
    with pytest.raises(FreshSignInRequired) as raised:
        ensure_fresh_sign_in(request=request, user=person.user)
    assert "last 10 minutes" in raised.value.message


def test_an_organisation_may_forbid_turning_it_off(
    user_with_two_step: Person, org_requiring_mfa: Organization
) -> None:
    join_as_work_account(user_with_two_step.user, org_requiring_mfa)
    page = user_with_two_step.client.get("/security/").content.decode()
    assert "Managed by Contoso:" in page and "Your organization requires two-step verification." in page
    with pytest.raises(PolicyDenied):
        disable_two_step(user=user_with_two_step.user, request=None)
    response = user_with_two_step.client.post("/security/two-step/off/", follow=True)
    assert "Your organization requires two-step verification." in response.content.decode()
    assert two_step_enabled(user_with_two_step.user)
    denial = SecurityEvent.objects.filter(code="account:policy:deny").last()
    assert denial is not None and denial.details["action"] == "security:two_step:disable"


def test_the_last_method_cannot_be_removed_while_two_step_is_on(user_with_two_step: Person) -> None:
    method = SignInMethod.objects.get(user=user_with_two_step.user)
    page = user_with_two_step.client.get(f"/security/methods/{method.public_id}/remove/").content.decode()
    assert "This is your only sign-in method" in page
    assert "Add another method first, or turn off two-step verification." in page
    response = user_with_two_step.client.post(f"/security/methods/{method.public_id}/remove/")
    assert response.status_code == 200
    assert SignInMethod.objects.filter(pk=method.pk).exists()
    with pytest.raises(Refused) as refused:
        remove_sign_in_method(
            user=user_with_two_step.user,
            request=response.wsgi_request,
            method=method,
            sign_out_others=False,
        )
    assert refused.value.code == "last_method"
    # allauth's own deactivate page asks the same question through our adapter.
    allauth_page = user_with_two_step.client.post("/accounts/2fa/totp/deactivate/")
    assert allauth_page.status_code == 200
    assert SignInMethod.objects.filter(pk=method.pk).exists()


def test_with_another_method_the_app_can_be_removed(user_with_two_step: Person, commits: Commits) -> None:
    phone = PhoneNumber.objects.create(
        user=user_with_two_step.user, number="+14255550111", verified_at=timezone.now()
    )
    with commits(execute=True):
        user_with_two_step.client.post("/security/add/text-message/", {"phone": phone.pk})
    app = SignInMethod.objects.get(user=user_with_two_step.user, kind="authenticator_app")
    with commits(execute=True):
        response = user_with_two_step.client.post(f"/security/methods/{app.public_id}/remove/")
    assert response["Location"] == "/security/"
    assert not SignInMethod.objects.filter(pk=app.pk).exists()
    assert default_method(user_with_two_step.user).kind == "text_message"  # type: ignore[union-attr]
    event = SecurityEvent.objects.get(code="account:method:remove")
    assert event.details["kind"] == "authenticator_app" and event.details["sessions_ended"] == 0


def test_removing_a_method_can_sign_out_every_other_session(user_with_totp: Person, commits: Commits) -> None:
    other = browser()
    sign_in(other, user_with_totp.user)
    assert is_signed_in(other)
    method = SignInMethod.objects.get(user=user_with_totp.user)
    page = user_with_totp.client.get(f"/security/methods/{method.public_id}/remove/").content.decode()
    assert "Also sign out everywhere else" in page
    with commits(execute=True):
        response = user_with_totp.client.post(
            f"/security/methods/{method.public_id}/remove/", {"sign_out_others": "on"}, follow=True
        )
    assert "1 other session was signed out." in response.content.decode()
    assert not is_signed_in(other)
    assert is_signed_in(user_with_totp.client)


def test_removing_a_method_needs_a_recent_sign_in(user_with_totp: Person, clock: Any) -> None:
    method = SignInMethod.objects.get(user=user_with_totp.user)
    clock.advance(601)
    response = user_with_totp.client.post(f"/security/methods/{method.public_id}/remove/")
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    assert SignInMethod.objects.filter(pk=method.pk).exists()


def test_changing_the_password_signs_out_every_other_session(person: Person, commits: Commits) -> None:
    other = browser()
    sign_in(other, person.user)
    with commits(execute=True):
        response = person.client.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    assert response.status_code == 302
    assert is_signed_in(person.client)
    assert not is_signed_in(other)
    assert UserSession.objects.filter(user=person.user).count() == 1
    event = SecurityEvent.objects.get(code="account:password:change")
    assert event.details["sessions_ended"] == 1


def test_changing_the_password_needs_a_recent_sign_in(person: Person, clock: Any) -> None:
    clock.advance(601)
    response = person.client.get("/accounts/password/change/")
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Fpassword%2Fchange%2F"
    response = person.client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Reload this page and sign in again to change your password" in response.content.decode()
    person.user.refresh_from_db()
    assert person.user.check_password(PASSWORD)


def test_changing_the_primary_email_needs_a_recent_sign_in(person: Person, clock: Any) -> None:
    from allauth.account.models import EmailAddress

    second = EmailAddress.objects.create(user=person.user, email="ada@work.example", verified=True)
    clock.advance(601)
    response = person.client.post("/accounts/email/", {"action_primary": "", "email": second.email})
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not EmailAddress.objects.get(pk=second.pk).primary


def test_a_phone_that_is_the_last_method_is_guarded(
    person: Person, verified_phone: PhoneNumber, commits: Commits
) -> None:
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": verified_phone.pk})
        person.client.post("/security/two-step/on/")
    with pytest.raises(Refused):
        ensure_phone_removable(user=person.user, phone=verified_phone)
    # Deleting the row anyway (Your info asks first: tests/accounts/test_phones.py) leaves
    # 2SV without a method, which the page says, and sign-in does not ask for a method that is gone.
    verified_phone.delete()
    assert not two_step_required(person.user)
    assert "Two-step verification has no method left" in person.client.get("/security/").content.decode()


def test_a_second_step_code_at_sign_in_is_fresh_enough_for_changes(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    verify(client, oathtool_code(user_with_two_step.secret))
    assert client.get("/security/two-step/off/").status_code == 200


def test_allauths_own_deactivate_page_is_recorded_and_announced(
    user_with_totp: Person, commits: Commits, mailbox: Any
) -> None:
    mailbox.clear()
    with commits(execute=True):
        response = user_with_totp.client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert not SignInMethod.objects.filter(user=user_with_totp.user).exists()
    event = SecurityEvent.objects.get(code="account:method:remove")
    assert event.details == {"kind": "authenticator_app", "name": "Authenticator app"}
    assert [str(m["Subject"]) for m in mailbox.messages] == [
        "Threshold: Security alert: Sign-in method removed"
    ]


def test_a_password_reset_ends_every_session_and_forgets_trusted_devices(
    user_with_two_step: Person, mailbox: Any
) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    verify(client, oathtool_code(user_with_two_step.secret), trust=True)
    assert is_signed_in(client)

    anonymous = browser()
    anonymous.post("/recover/password/", {"email": user_with_two_step.user.email})
    anonymous.post("/recover/password/send/", {"way": "email", "email": user_with_two_step.user.email})
    code = mailbox.last_code(user_with_two_step.user.email)
    response = anonymous.post("/recover/password/code/", {"code": code})
    assert response["Location"] == "/recover/password/verify/", response.content[:500]
    recovery_code = user_with_two_step.recovery_codes[0]
    response = anonymous.post("/recover/password/verify/", {"method": "recovery-code", "code": recovery_code})
    assert response["Location"] == "/recover/password/new/", response.content[:500]
    response = anonymous.post(response["Location"], {"password1": NEW_PASSWORD})
    assert response.status_code == 302, response.content[:500]

    assert not is_signed_in(client)
    assert not is_signed_in(user_with_two_step.client)
    assert not UserSession.objects.filter(user=user_with_two_step.user).exists()
    assert sign_in(client, user_with_two_step.user, NEW_PASSWORD)["Location"] == "/security/verify/"
