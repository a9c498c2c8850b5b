"""Sign-in with two-step verification: the default method first, other ways, trust, replay."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.security.conftest import (
    OTHER_UA,
    Commits,
    Person,
    browser,
    is_signed_in,
    oathtool_code,
    pyotp_code,
    sign_in,
    verify,
)
from threshold.accounts.models import PhoneNumber
from threshold.activity.models import Result, SecurityEvent
from threshold.devices import trust
from threshold.devices.models import TrustedDevice
from threshold.devices.services import revoke_trusted_device
from threshold.security.models import SignInMethod

pytestmark = pytest.mark.django_db


def events(person: Person, code: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(user=person.user, code=code).order_by("id"))


def test_without_two_step_verification_the_password_is_enough(user_with_totp: Person) -> None:
    client = browser()
    response = sign_in(client, user_with_totp.user)
    assert response["Location"] == "/"
    assert is_signed_in(client)


def test_with_two_step_verification_the_password_is_not_enough(user_with_two_step: Person) -> None:
    client = browser()
    response = sign_in(client, user_with_two_step.user)
    assert response["Location"] == "/security/verify/"
    assert not is_signed_in(client)
    page = client.get("/security/verify/").content.decode()
    assert "Enter the 6-digit code from your authenticator app" in page
    assert "Sign in another way" in page
    assert "Recovery code" in page


def test_a_code_from_oathtool_completes_the_sign_in(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    response = verify(client, oathtool_code(user_with_two_step.secret))
    assert response.status_code == 302
    assert is_signed_in(client)
    [event] = events(user_with_two_step, "account:signin:second_step")
    assert event.method == "authenticator_app"
    assert SignInMethod.objects.get(user=user_with_two_step.user).last_used_at is not None


def test_a_code_from_pyotp_completes_the_sign_in(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    assert verify(client, pyotp_code(user_with_two_step.secret)).status_code == 302
    assert is_signed_in(client)


def test_a_code_is_accepted_once(user_with_two_step: Person) -> None:
    code = oathtool_code(user_with_two_step.secret)
    first = browser()
    sign_in(first, user_with_two_step.user)
    assert verify(first, code).status_code == 302

    second = browser()
    sign_in(second, user_with_two_step.user)
    response = verify(second, code)
    assert response.status_code == 400
    assert "That code didn" in response.content.decode()
    assert not is_signed_in(second)
    [failure] = events(user_with_two_step, "account:signin:second_step:failure")
    assert failure.result == Result.FAILURE


def test_the_challenge_cannot_be_skipped(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    assert client.get("/security/")["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/2fa/authenticate/").status_code == 302  # allauth's stage is not in the flow
    assert not is_signed_in(client)


def test_without_a_pending_sign_in_the_challenge_page_sends_to_sign_in(db: Any) -> None:
    response = browser().get("/security/verify/")
    assert response["Location"] == "/accounts/login/"


def test_the_default_method_is_offered_first_and_others_are_another_way(
    user_with_two_step: Person, commits: Commits
) -> None:
    phone = PhoneNumber.objects.create(
        user=user_with_two_step.user, number="+14255550199", verified_at=timezone.now()
    )
    with commits(execute=True):
        assert (
            user_with_two_step.client.post("/security/add/text-message/", {"phone": phone.pk}).status_code
            == 302
        )
    text = SignInMethod.objects.get(phone=phone)
    with commits(execute=True):
        user_with_two_step.client.post(f"/security/methods/{text.public_id}/default/")
    assert events(user_with_two_step, "account:method:default")

    client = browser()
    sign_in(client, user_with_two_step.user)
    page = client.get("/security/verify/").content.decode()
    assert "Text a code to •••• 0199" in page
    head, other_ways = page.split("Sign in another way", 1)
    assert "Send a code" in head
    assert "?method=app" in other_ways and "?method=recovery-code" in other_ways

    # Another way: the authenticator app.
    response = verify(client, oathtool_code(user_with_two_step.secret), method="app")
    assert response.status_code == 302
    assert is_signed_in(client)


def test_too_many_wrong_codes_make_the_account_wait(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    for _ in range(5):
        assert verify(client, "000000").status_code == 400
    response = verify(client, oathtool_code(user_with_two_step.secret))
    assert response.status_code == 400
    assert "Too many wrong codes" in response.content.decode()
    assert not is_signed_in(client)
    [blocked] = events(user_with_two_step, "account:signin:second_step:throttled")
    assert blocked.result == Result.BLOCKED


def test_dont_ask_again_trusts_this_browser_for_30_days(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    response = verify(client, oathtool_code(user_with_two_step.secret), trust=True)
    cookie = response.cookies[trust.cookie_name()]
    assert cookie["httponly"] and cookie["max-age"] == 30 * 24 * 3600
    device = TrustedDevice.objects.get(user=user_with_two_step.user)
    assert device.token_hash not in cookie.value  # only the token's hash is stored
    assert events(user_with_two_step, "account:device:trust")

    client.post("/accounts/logout/")
    response = sign_in(client, user_with_two_step.user)
    assert response["Location"] == "/"
    assert is_signed_in(client)
    skipped = events(user_with_two_step, "account:signin:second_step")[-1]
    assert skipped.method == "trusted_device"


def test_trust_is_bound_to_this_browser(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    cookie = verify(client, oathtool_code(user_with_two_step.secret), trust=True).cookies[trust.cookie_name()]

    elsewhere = browser(HTTP_USER_AGENT=OTHER_UA)
    elsewhere.cookies[trust.cookie_name()] = cookie.value
    assert sign_in(elsewhere, user_with_two_step.user)["Location"] == "/security/verify/"

    tampered = browser()
    tampered.cookies[trust.cookie_name()] = cookie.value[:-2] + "xx"
    assert sign_in(tampered, user_with_two_step.user)["Location"] == "/security/verify/"


def test_changing_the_password_revokes_trust(user_with_two_step: Person, commits: Commits) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    verify(client, oathtool_code(user_with_two_step.secret), trust=True)
    with commits(execute=True):
        response = client.post(
            "/accounts/password/change/",
            {
                "oldpassword": PASSWORD,
                "password1": "a new and long passphrase 9",
                "password2": "a new and long passphrase 9",
            },
        )
    assert response.status_code == 302
    assert TrustedDevice.objects.get(user=user_with_two_step.user).revoked_reason == "password_changed"

    client.post("/accounts/logout/")
    response = sign_in(client, user_with_two_step.user, "a new and long passphrase 9")
    assert response["Location"] == "/security/verify/"


def test_turning_two_step_verification_off_and_on_revokes_trust(
    user_with_two_step: Person, commits: Commits
) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    verify(client, oathtool_code(user_with_two_step.secret), trust=True)
    with commits(execute=True):
        assert client.post("/security/two-step/off/").status_code == 302
        assert client.post("/security/two-step/on/").status_code == 302
    assert TrustedDevice.objects.get(user=user_with_two_step.user).revoked_reason == "two_step_changed"
    assert events(user_with_two_step, "account:device:trust_revoke")

    client.post("/accounts/logout/")
    assert sign_in(client, user_with_two_step.user)["Location"] == "/security/verify/"


def test_one_trusted_device_can_be_revoked_on_its_own(user_with_two_step: Person) -> None:
    first, second = browser(), browser()
    sign_in(first, user_with_two_step.user)
    verify(first, oathtool_code(user_with_two_step.secret), trust=True)
    sign_in(second, user_with_two_step.user)
    verify(second, user_with_two_step.recovery_codes[0], method="recovery-code", trust=True)
    for client in (first, second):
        client.post("/accounts/logout/")

    device = TrustedDevice.objects.filter(user=user_with_two_step.user).order_by("created_at").first()
    assert device is not None
    assert revoke_trusted_device(user=user_with_two_step.user, request=None, device=device)
    assert not revoke_trusted_device(user=user_with_two_step.user, request=None, device=device)
    assert sign_in(first, user_with_two_step.user)["Location"] == "/security/verify/"
    assert sign_in(second, user_with_two_step.user)["Location"] == "/"


def test_cancel_ends_the_pending_sign_in(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    client.post("/accounts/logout/", {"next": "/accounts/login/"})
    assert client.get("/security/verify/")["Location"] == "/accounts/login/"
