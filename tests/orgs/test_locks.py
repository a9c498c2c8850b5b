"""Every lockable setting, locked and unlocked, through the service and the page."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.accounts.images import small_gif
from tests.orgs.conftest import signed_in
from threshold.accounts import services as account_services
from threshold.accounts.models import PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.core.errors import PolicyDenied
from threshold.devices.models import Device
from threshold.orgs import policies
from threshold.orgs.models import Organization, Role, TextMessages
from threshold.recovery.services.closure import close_account
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.methods import two_step_enabled
from threshold.security.services.guard_rails import removal_decision
from threshold.security.services.methods import add_text_message_method
from threshold.security.services.two_step import disable_two_step

pytestmark = pytest.mark.django_db

REASON = "They come from Contoso's HR directory."
MANAGED = "Managed by Contoso:"


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def refused(response: Any, client: Client) -> str:
    """A refused POST goes back to the page with the organisation's message."""
    assert response.status_code == 302, response.status_code
    follow = client.get(response["Location"])
    return follow.content.decode()


# --- Names ---------------------------------------------------------------------------------------


def test_locked_names_are_refused_by_the_service_and_recorded(adele: User, set_policy: Any) -> None:
    set_policy(lock_names=True, profile_lock_reason=REASON)
    with pytest.raises(PolicyDenied) as raised:
        account_services.update_profile(user=adele, request=None, changes={"given_name": "Eve"})
    assert raised.value.decision.locked_by == "Contoso"
    assert REASON in raised.value.decision.message
    adele.refresh_from_db()
    assert adele.given_name == "Adele"
    assert SecurityEvent.objects.filter(user=adele, code="account:policy:deny").exists()
    # Language and region are never managed.
    assert account_services.update_profile(user=adele, request=None, changes={"locale": "es"}) == ["locale"]


def test_unlocked_names_change(adele: User, set_policy: Any) -> None:
    set_policy(lock_names=False)
    assert account_services.update_profile(user=adele, request=None, changes={"given_name": "Eve"}) == [
        "given_name"
    ]


def test_locked_names_on_the_page_show_the_reason_and_no_form(
    adele: User, adele_client: Client, set_policy: Any, premium_contoso: Organization
) -> None:
    set_policy(lock_names=True, profile_lock_reason=REASON)
    html = page(adele_client, "/your-info/")
    assert f"{MANAGED}</strong> {REASON}" in html.replace("&#x27;", "'")
    assert "it-help@contoso.example" in html
    assert "Save name" not in html
    response = adele_client.post(
        "/your-info/", {"section": "profile", "given_name": "Eve", "family_name": "X", "display_name": ""}
    )
    assert MANAGED in refused(response, adele_client)
    adele.refresh_from_db()
    assert adele.given_name == "Adele"


def test_unlocked_names_on_the_page(adele: User, adele_client: Client) -> None:
    assert "Save name" in page(adele_client, "/your-info/")
    adele_client.post(
        "/your-info/", {"section": "profile", "given_name": "Eve", "family_name": "Vance", "display_name": ""}
    )
    adele.refresh_from_db()
    assert adele.given_name == "Eve"


# --- Photo ---------------------------------------------------------------------------------------


def test_locked_photo(adele: User, adele_client: Client, set_policy: Any) -> None:
    set_policy(lock_photo=True)
    with pytest.raises(PolicyDenied):
        account_services.update_photo(user=adele, request=None, data=small_gif())
    html = page(adele_client, "/your-info/")
    assert "Upload photo" not in html and MANAGED in html
    response = adele_client.post("/your-info/photo/", {"photo": _upload()})
    assert MANAGED in refused(response, adele_client)
    assert User.objects.get(pk=adele.pk).photo_updated_at is None


def test_unlocked_photo(adele: User, adele_client: Client) -> None:
    assert "Upload photo" in page(adele_client, "/your-info/")
    response = adele_client.post("/your-info/photo/", {"photo": _upload()})
    assert response.status_code == 302
    assert User.objects.get(pk=adele.pk).photo_updated_at is not None


def _upload() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("me.gif", small_gif(), content_type="image/gif")


# --- Phone numbers -------------------------------------------------------------------------------


def test_locked_phones(adele: User, adele_client: Client, set_policy: Any) -> None:
    phone = PhoneNumber.objects.create(user=adele, number="+14255550100", verified_at=timezone.now())
    set_policy(lock_phones=True)
    with pytest.raises(PolicyDenied):
        account_services.add_phone_number(user=adele, request=None, number="+14255550199")
    html = page(adele_client, "/your-info/")
    assert "Send code" not in html and MANAGED in html
    response = adele_client.post(f"/your-info/phones/{phone.public_id}/remove/")
    assert MANAGED in refused(response, adele_client)
    assert PhoneNumber.objects.filter(pk=phone.pk).exists()
    response = adele_client.post("/your-info/phones/add/", {"region": "US", "number": "+14255550199"})
    assert PhoneNumber.objects.filter(user=adele).count() == 1


def test_unlocked_phones(adele: User, adele_client: Client, sms: Any) -> None:
    assert "Send code" in page(adele_client, "/your-info/")
    response = adele_client.post("/your-info/phones/add/", {"region": "US", "number": "+14255550199"})
    assert response.status_code == 302
    assert PhoneNumber.objects.filter(user=adele, number="+14255550199").exists()


# --- Email addresses, through allauth's own page ------------------------------------------------


def test_locked_emails_refuse_allauths_page(adele: User, adele_client: Client, set_policy: Any) -> None:
    set_policy(lock_emails=True, profile_lock_reason=REASON)
    html = page(adele_client, "/your-info/")
    assert "Manage email addresses" not in html and MANAGED in html
    response = adele_client.post("/accounts/email/", {"action_add": "", "email": "adele@home.example"})
    assert MANAGED in refused(response, adele_client)
    assert not EmailAddress.objects.filter(email="adele@home.example").exists()
    address = EmailAddress.objects.get(user=adele)
    response = adele_client.post("/accounts/email/", {"action_remove": "", "email": address.email})
    assert EmailAddress.objects.filter(pk=address.pk).exists()
    from threshold.accounts.adapter import AccountAdapter

    assert AccountAdapter().can_delete_email(address) is False


def test_unlocked_emails_on_allauths_page(adele: User, adele_client: Client, mailbox: Any) -> None:
    response = adele_client.post("/accounts/email/", {"action_add": "", "email": "adele@home.example"})
    assert response["Location"] == "/accounts/confirm-email/"
    response = adele_client.post(
        "/accounts/confirm-email/", {"code": mailbox.last_code("adele@home.example")}
    )
    assert EmailAddress.objects.filter(user=adele, email="adele@home.example").exists()


def test_an_address_waiting_for_its_code_is_not_added_once_emails_are_locked(
    adele: User, adele_client: Client, mailbox: Any, set_policy: Any
) -> None:
    adele_client.post("/accounts/email/", {"action_add": "", "email": "adele@home.example"})
    set_policy(lock_emails=True)
    response = adele_client.post(
        "/accounts/confirm-email/", {"code": mailbox.last_code("adele@home.example")}
    )
    assert MANAGED in refused(response, adele_client)
    assert not EmailAddress.objects.filter(email="adele@home.example").exists()


# --- Two-step verification and methods ----------------------------------------------------------


def test_required_two_step_cannot_be_turned_off(adele: User, set_policy: Any) -> None:
    set_policy(require_two_step=True)
    with pytest.raises(PolicyDenied) as raised:
        disable_two_step(user=adele, request=None)
    assert raised.value.decision.reason_code == "org_requires_two_step"
    set_policy(require_two_step=False)
    assert policies.evaluate(adele, policies.Action.TWO_STEP_DISABLE).allowed


def test_two_step_off_page_when_required(
    user_with_totp: Any, contoso: Organization, set_policy: Any, commits: Any
) -> None:
    from tests.security.conftest import turn_on_two_step

    person = user_with_totp
    User.objects.filter(pk=person.user.pk).update(kind="work", organization=contoso)
    turn_on_two_step(person.client, commits)
    set_policy(require_two_step=True)
    response = person.client.post("/security/two-step/off/")
    assert response.status_code == 302
    assert two_step_enabled(person.user)
    assert "Contoso" in person.client.get("/security/").content.decode()


def test_text_messages_forbidden_for_everyone(adele: User, adele_client: Client, set_policy: Any) -> None:
    phone = PhoneNumber.objects.create(user=adele, number="+14255550100", verified_at=timezone.now())
    set_policy(text_messages=TextMessages.NOBODY)
    with pytest.raises(PolicyDenied):
        add_text_message_method(user=adele, request=None, phone=phone)
    html = page(adele_client, "/security/add/")
    assert "Choose a phone number" not in html and MANAGED in html
    response = adele_client.post("/security/add/text-message/", {"phone": str(phone.pk)})
    assert response.status_code == 302
    assert not SignInMethod.objects.filter(user=adele, kind=MethodKind.TEXT_MESSAGE).exists()


def test_text_messages_for_members_only(adele: User, megan: User, set_policy: Any) -> None:
    set_policy(text_messages=TextMessages.NOT_ADMINS)
    assert policies.evaluate(adele, policies.Action.METHOD_ADD_TEXT_MESSAGE).allowed
    decision = policies.evaluate(megan, policies.Action.METHOD_ADD_TEXT_MESSAGE)
    assert not decision.allowed and decision.reason_code == "org_forbids_text_messages"


def test_text_messages_allowed_by_default(adele: User, adele_client: Client) -> None:
    PhoneNumber.objects.create(user=adele, number="+14255550100", verified_at=timezone.now())
    assert "Choose a phone number" in page(adele_client, "/security/add/")


def test_an_admins_last_passkey_stays_when_passkeys_are_required(
    megan: User, adele: User, set_policy: Any
) -> None:
    set_policy(require_passkey_for_admins=True)
    megan_key = passkey_of(megan, "Key")
    decision = removal_decision(user=megan, method=megan_key)
    assert not decision.allowed and decision.reason_code == "org_requires_passkey"
    adele_key = passkey_of(adele, "Key")
    assert removal_decision(user=adele, method=adele_key).allowed
    passkey_of(megan, "Second key")
    assert removal_decision(user=megan, method=megan_key).allowed


def passkey_of(user: User, name: str) -> SignInMethod:
    """A passkey row as allauth.mfa and security keep it (no browser ceremony needed here)."""
    from allauth.mfa.models import Authenticator

    authenticator = Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": name, "credential": {}}
    )
    method, _created = SignInMethod.objects.get_or_create(
        authenticator=authenticator, defaults={"user": user, "kind": MethodKind.PASSKEY, "name": name}
    )
    return method


# --- Password reset and password rules -----------------------------------------------------------


def test_self_service_password_reset_policy(adele: User, set_policy: Any) -> None:
    assert policies.evaluate(adele, policies.Action.PASSWORD_RESET_SELF_SERVICE).allowed
    assert policies.reset_methods_required(adele) == 1
    set_policy(reset_methods_required=2)
    assert policies.reset_methods_required(adele) == 2
    set_policy(self_service_password_reset=False)
    decision = policies.evaluate(adele, policies.Action.PASSWORD_RESET_SELF_SERVICE)
    assert not decision.allowed and decision.locked_by == "Contoso"


def test_password_rules_of_the_organisation(adele: User, set_policy: Any) -> None:
    validate_password("violet tundra kettle", user=adele)  # 20 characters, fine by default
    set_policy(password_min_length=24, password_banned_words="Contoso, widget")
    with pytest.raises(ValidationError) as short:
        validate_password("violet tundra kettle", user=adele)
    assert "at least 24 characters" in " ".join(short.value.messages)
    with pytest.raises(ValidationError) as banned:
        validate_password("violet tundra kettle contoso", user=adele)
    assert "contoso" in " ".join(banned.value.messages)
    validate_password("violet tundra kettle marble", user=adele)
    # Someone else's password rules are not Contoso's.
    validate_password("violet tundra kettle", user=None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password_min_length": 7}, "password_min_length"),
        ({"password_min_length": 65}, "password_min_length"),
        ({"two_step_grace_days": 91}, "two_step_grace_days"),
        ({"reset_methods_required": 3}, "reset_methods_required"),
        ({"session_lifetime_hours": 0}, "session_lifetime_hours"),
    ],
)
def test_policy_bounds_are_enforced_and_nothing_is_saved(
    set_policy: Any, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        set_policy(**changes)
    assert field in raised.value.message_dict
    assert not SecurityEvent.objects.filter(code="org:policy:change").exists()


# --- Closing the account, removing devices -------------------------------------------------------


def test_closing_the_account(adele: User, adele_client: Client, set_policy: Any) -> None:
    assert 'href="/privacy/close/"' in page(adele_client, "/privacy/")
    set_policy(members_may_close_account=False)
    html = page(adele_client, "/privacy/")
    assert 'href="/privacy/close/"' not in html and MANAGED in html
    refused = adele_client.get("/privacy/close/", follow=True)
    assert refused.redirect_chain[-1][0] == "/privacy/"
    assert "Managed by Contoso:" in refused.content.decode()
    with pytest.raises(PolicyDenied):
        close_account(user=adele, request=None, days=30)
    response = adele_client.post("/privacy/close/", {"days": "30", "confirm": "on"})
    assert response.status_code == 302
    assert User.objects.get(pk=adele.pk).closes_at is None
    set_policy(members_may_close_account=True)
    assert policies.evaluate(adele, policies.Action.ACCOUNT_CLOSE).allowed


def test_removing_devices(adele: User, adele_client: Client, set_policy: Any) -> None:
    html = page(adele_client, "/devices/")
    assert "Remove device" in html
    set_policy(members_may_remove_devices=False)
    html = page(adele_client, "/devices/")
    assert "Remove device" not in html and MANAGED in html
    device = Device.objects.filter(user=adele).first()
    assert device is not None
    response = adele_client.post(f"/devices/{device.public_id}/remove/")
    assert response.status_code == 302
    assert Device.objects.filter(pk=device.pk).exists()


def test_a_guest_membership_locks_nothing(adele: User, megan: User) -> None:
    from threshold.orgs import services
    from threshold.orgs.models import OrganizationPolicy

    fabrikam = Organization.objects.create(name="Fabrikam", slug="fabrikam")
    OrganizationPolicy.objects.create(organization=fabrikam, lock_names=True, members_may_close_account=False)
    visitor = signed_in_user_of_nobody()
    services.add_member(organization=fabrikam, actor=_staff(), request=None, user=visitor, role=Role.MEMBER)
    assert policies.evaluate(visitor, policies.Action.PROFILE_NAMES_CHANGE).allowed
    assert policies.evaluate(visitor, policies.Action.ACCOUNT_CLOSE).allowed


def signed_in_user_of_nobody() -> User:
    from tests.conftest import make_user

    return make_user("alex@example.com")


def _staff() -> User:
    from tests.conftest import make_user

    return make_user("operator@example.com", is_staff=True)


def test_signed_in_fixture_is_usable(adele: User) -> None:
    assert signed_in(adele).get("/").status_code == 200
