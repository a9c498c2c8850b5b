"""Passkeys and security keys at HTTP level, with a software authenticator of our own.

Adding, renaming and removing them; signing in with a passkey alone (no email, no
password); a passkey as the second step; the signature counter and user verification.
"""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from django.template.loader import render_to_string
from django.test import RequestFactory

from tests.conftest import Mailbox
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    add_passkey,
    browser,
    is_signed_in,
    json_block,
    passkey_options,
    sign_in,
    sign_in_with_passkey,
    turn_on_two_step,
)
from tests.security.softauthn import Credential, SoftAuthenticator, b64url
from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.core.errors import FreshSignInRequired
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.methods import default_method
from threshold.security.services.methods import rename_sign_in_method
from threshold.verification.sign_in import signed_in_recently

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def alerts(mailbox: Mailbox, address: str) -> list[str]:
    return [Mailbox.text(m) for m in mailbox.to(address) if "Security alert" in str(m["Subject"])]


def events(person: Person, code: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(user=person.user, code=code).order_by("pk"))


# --- Adding ---------------------------------------------------------------------------------


def test_adding_a_passkey_records_it_and_alerts(person: Person, commits: Commits, mailbox: Mailbox) -> None:
    page = person.client.get("/accounts/2fa/webauthn/add/")
    html = text(page)
    assert "Add a passkey or security key" in html
    assert "Use it to sign in without a password (a passkey)" in html
    assert re.search(r'<input type="checkbox" name="passwordless"[^>]* checked', html)
    options = json_block(page, "passkey-options")["creation_options"]["publicKey"]
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == person.user.email

    method = add_passkey(person.client, person.authenticator, commits, name="iPhone 16")

    assert method.kind == MethodKind.PASSKEY and method.passwordless and method.sign_count == 1
    assert method.phishing_resistant
    event = events(person, "account:method:add")[-1]
    assert event.details["kind"] == "passkey" and event.details["name"] == "iPhone 16"
    (alert,) = alerts(mailbox, person.user.email)
    assert "Passkey or security key “iPhone 16” was added to the ways you sign in." in alert
    info = text(person.client.get("/security/"))
    assert "<strong>iPhone 16</strong>" in info and "Passkey · Added" in info and "Not used yet" in info
    assert default_method(person.user) == method


def test_a_security_key_without_the_passkey_choice_is_a_second_step_only(
    person: Person, commits: Commits
) -> None:
    key = SoftAuthenticator(user_verification=False)
    method = add_passkey(person.client, key, commits, name="YubiKey", passwordless=False)
    assert not method.passwordless
    assert method.kind_label == "Security key"
    # It signs nobody in on its own: the browser finds no passkey for the site.
    with pytest.raises(ValueError, match="NotAllowedError"):
        key.get(passkey_options(browser()))


def test_the_passkey_choice_needs_a_device_that_checks_its_the_person(
    person: Person, commits: Commits
) -> None:
    page = person.client.get("/accounts/2fa/webauthn/add/")
    options = json_block(page, "passkey-options")["creation_options"]
    credential = SoftAuthenticator(user_verification=False).create(options)
    response = person.client.post(
        "/accounts/2fa/webauthn/add/",
        {"name": "No PIN", "passwordless": "on", "credential": json.dumps(credential)},
    )
    assert response.status_code == 200
    assert "This key didn't check it's you with a PIN, fingerprint or face" in text(response)

    # A challenge answers once: the same answer again is refused, in passkey words.
    fresh = json_block(response, "passkey-options")["creation_options"]
    again = person.authenticator.create(fresh, discoverable=False)
    added = person.client.post(
        "/accounts/2fa/webauthn/add/", {"name": "Key", "credential": json.dumps(again)}
    )
    assert added.status_code == 302
    replay = {"name": "Replay", "credential": json.dumps(again)}
    response = person.client.post("/accounts/2fa/webauthn/add/", replay)
    assert "Your passkey couldn't be added." in text(response)
    assert SignInMethod.objects.filter(user=person.user).count() == 1


def test_adding_needs_a_recent_sign_in(person: Person, clock: Any) -> None:
    clock.advance(10 * 60 + 1)
    response = person.client.get("/accounts/2fa/webauthn/add/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")


# --- Signing in with a passkey alone -------------------------------------------------------------


def test_sign_in_with_a_passkey_needs_no_email_or_password(user_with_passkey: Person) -> None:
    person = user_with_passkey
    options = passkey_options(browser())
    # Discoverable: the browser is not told which account, and must verify the person.
    assert options["publicKey"]["allowCredentials"] == []
    assert options["publicKey"]["userVerification"] == "required"

    visitor = browser()
    response = sign_in_with_passkey(visitor, person.authenticator)
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_signed_in(visitor)
    assert visitor.get("/").wsgi_request.user == person.user
    signed_in = events(person, "account:signin:success")[-1]
    assert signed_in.method == "passkey"
    method = SignInMethod.objects.get(pk=person.passkey.pk)  # type: ignore[union-attr]
    assert method.last_used_at is not None and method.sign_count == 2
    assert "Last used" in text(person.client.get("/security/"))


def test_a_passkey_sign_in_satisfies_two_step_verification(
    user_with_passkey: Person, commits: Commits
) -> None:
    person = user_with_passkey
    add_authenticator_app(person.client, commits)
    turn_on_two_step(person.client, commits)

    by_password = browser()
    assert sign_in(by_password, person.user)["Location"] == "/security/verify/"

    by_passkey = browser()
    assert sign_in_with_passkey(by_passkey, person.authenticator)["Location"] == "/"
    assert is_signed_in(by_passkey)


def test_a_passkey_that_did_not_verify_the_person_cannot_sign_in_alone(user_with_passkey: Person) -> None:
    visitor = browser()
    response = sign_in_with_passkey(visitor, user_with_passkey.authenticator, user_verified=False)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_signed_in(visitor)
    page = text(visitor.get("/accounts/login/"))
    assert "Your passkey didn't check it was you" in page


def test_a_signature_counter_that_goes_backwards_is_refused_and_recorded(user_with_passkey: Person) -> None:
    person = user_with_passkey
    first = browser()
    sign_in_with_passkey(first, person.authenticator, sign_count=41)
    assert is_signed_in(first)

    copy = browser()  # a cloned key: its counter is behind the original's
    response = sign_in_with_passkey(copy, person.authenticator, sign_count=7)
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(copy)
    assert "its signature counter went backwards" in text(copy.get("/accounts/login/"))
    (event,) = events(person, "account:passkey:counter_backwards")
    assert event.result == Result.BLOCKED
    assert event.details["seen"] == 41 and event.details["sent"] == 7
    assert SignInMethod.objects.get(pk=person.passkey.pk).sign_count == 41  # type: ignore[union-attr]

    # The same value again is no better: a replayed or copied answer.
    again = browser()
    sign_in_with_passkey(again, person.authenticator, sign_count=41)
    assert not is_signed_in(again)
    assert len(events(person, "account:passkey:counter_backwards")) == 2

    # The genuine key moves on and still works.
    later = browser()
    sign_in_with_passkey(later, person.authenticator, sign_count=42)
    assert is_signed_in(later)


def test_passkeys_without_a_counter_keep_working(person: Person, commits: Commits) -> None:
    synced = SoftAuthenticator(counts_signatures=False)
    method = add_passkey(person.client, synced, commits)
    assert method.sign_count == 0
    for _ in range(3):
        visitor = browser()
        sign_in_with_passkey(visitor, synced)
        assert is_signed_in(visitor)
    assert not events(person, "account:passkey:counter_backwards")


def test_an_unknown_passkey_signs_nobody_in(user_with_passkey: Person, commits: Commits) -> None:
    stranger = SoftAuthenticator()
    stranger.create(
        {
            "publicKey": {
                "rp": {"id": "localhost"},
                "user": {"id": "MQ"},  # claims to be account 1
                "challenge": "AAAA",
                "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            }
        }
    )
    visitor = browser()
    response = sign_in_with_passkey(visitor, stranger)
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(visitor)
    page = text(visitor.get("/accounts/login/"))
    assert "That passkey didn't sign you in." in page and "time on your phone" not in page


def test_a_passkey_made_for_another_site_is_refused(user_with_passkey: Person) -> None:
    person = user_with_passkey
    person.authenticator.origin = "https://threshold.example.net"  # a look-alike site relaying
    visitor = browser()
    sign_in_with_passkey(visitor, person.authenticator)
    assert not is_signed_in(visitor)


# --- The sign-in page ---------------------------------------------------------------------------


def test_the_sign_in_page_offers_passkeys_with_autofill_under_the_csp(db: Any) -> None:
    response = browser().get("/accounts/login/")
    html = response.content.decode()
    assert "Sign in with a passkey" in html
    assert re.search(
        r'<form id="mfa_login" action="/accounts/2fa/webauthn/login/"[^>]*data-passkey-sign-in', html
    )
    assert 'data-autofill="id_login"' in html and 'id="id_login"' in html
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert any("security/passkeys.js" in tag for tag in scripts)
    assert any("mfa/js/webauthn-json.js" in tag for tag in scripts)
    for tag in scripts:
        # Every script is a file of this site ('self'), or inert JSON data: nothing inline runs.
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert " onclick=" not in html and " onload=" not in html
    for path in ("/static/security/passkeys.js", "/static/mfa/js/webauthn-json.js"):
        assert browser().get(path).status_code == 200


def test_the_sign_in_snippet_for_any_sign_in_page(db: Any) -> None:
    request = RequestFactory().get("/accounts/login/")
    html = render_to_string("security/_passkey_sign_in.html", request=request)
    assert (
        '<button type="button" class="button button--block" id="passkey-sign-in">Sign in with a passkey</button>'
        in html
    )
    assert 'data-button="passkey-sign-in"' in html and 'data-autofill="id_login"' in html
    assert '<script src="/static/security/passkeys.js" defer></script>' in html
    assert 'action="/accounts/2fa/webauthn/login/"' in html and 'name="credential"' in html


def test_allauths_own_passkey_pages_lead_to_security_info(user_with_passkey: Person) -> None:
    pk = user_with_passkey.passkey.authenticator_id  # type: ignore[union-attr]
    for path in (
        "/accounts/2fa/webauthn/",
        f"/accounts/2fa/webauthn/keys/{pk}/edit/",
        f"/accounts/2fa/webauthn/keys/{pk}/remove/",
    ):
        response = user_with_passkey.client.post(path)
        assert response["Location"] == "/security/", path
    assert Authenticator.objects.filter(pk=pk).exists()


# --- A passkey as the second step -----------------------------------------------------------------


@pytest.fixture
def two_step_with_passkey(person: Person, commits: Commits) -> Person:
    """2SV on with an authenticator app (the default) and a security key."""
    add_authenticator_app(person.client, commits)
    person.passkey = add_passkey(
        person.client, person.authenticator, commits, name="YubiKey", passwordless=False
    )
    turn_on_two_step(person.client, commits)
    return person


def test_a_passkey_is_offered_as_another_way_at_the_second_step(two_step_with_passkey: Person) -> None:
    visitor = browser()
    sign_in(visitor, two_step_with_passkey.user)
    page = text(visitor.get("/security/verify/"))
    assert "Sign in another way" in page and "?method=passkey" in page and "YubiKey" in page

    page = visitor.get("/security/verify/?method=passkey")
    assert "Use your passkey" in text(page)
    options = json_block(page, "passkey-options")["request_options"]["publicKey"]
    # Only this account's keys are asked for: the password already said who it is.
    ids = [c["id"] for c in options["allowCredentials"]]
    assert ids == [b64url(two_step_with_passkey.authenticator.credentials[0].credential_id)]

    credential = two_step_with_passkey.authenticator.get(
        json_block(page, "passkey-options")["request_options"]
    )
    response = visitor.post(
        "/security/verify/", {"method": "passkey", "credential": json.dumps(credential), "trust_device": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert is_signed_in(visitor)
    step = events(two_step_with_passkey, "account:signin:second_step")[-1]
    assert step.method == "passkey"
    assert SignInMethod.objects.get(pk=two_step_with_passkey.passkey.pk).last_used_at is not None  # type: ignore[union-attr]


def test_the_passkey_can_be_the_default_second_step(two_step_with_passkey: Person) -> None:
    person = two_step_with_passkey
    person.client.post(f"/security/methods/{person.passkey.public_id}/default/")  # type: ignore[union-attr]
    visitor = browser()
    sign_in(visitor, person.user)
    assert "Use your passkey" in text(visitor.get("/security/verify/"))


def test_a_forged_passkey_answer_is_refused_at_the_second_step(two_step_with_passkey: Person) -> None:
    visitor = browser()
    sign_in(visitor, two_step_with_passkey.user)
    page = visitor.get("/security/verify/?method=passkey")
    options = json_block(page, "passkey-options")["request_options"]
    genuine = two_step_with_passkey.authenticator.credentials[0]
    # The right credential id, signed with a key that is not the registered one.
    forged = Credential(
        credential_id=genuine.credential_id,
        key=ec.generate_private_key(ec.SECP256R1()),
        rp_id="localhost",
        user_handle=genuine.user_handle,
        discoverable=False,
        sign_count=99,
    )
    answer = SoftAuthenticator().get(options, credential=forged)
    response = visitor.post("/security/verify/", {"method": "passkey", "credential": json.dumps(answer)})
    assert response.status_code == 400
    assert "That passkey didn't work" in text(response)
    assert not is_signed_in(visitor)
    assert events(two_step_with_passkey, "account:signin:second_step:failure")

    # A challenge answers one try: replaying a good answer to an old challenge fails too.
    good = two_step_with_passkey.authenticator.get(options)
    response = visitor.post("/security/verify/", {"method": "passkey", "credential": json.dumps(good)})
    assert response.status_code == 400 and not is_signed_in(visitor)


def test_a_copied_security_key_is_refused_at_the_second_step(two_step_with_passkey: Person) -> None:
    person = two_step_with_passkey
    visitor = browser()
    sign_in(visitor, person.user)
    page = visitor.get("/security/verify/?method=passkey")
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"], sign_count=1)
    response = visitor.post("/security/verify/", {"method": "passkey", "credential": json.dumps(answer)})
    assert response.status_code == 400
    assert "its signature counter went backwards" in text(response)
    assert not is_signed_in(visitor)
    (event,) = events(person, "account:passkey:counter_backwards")
    assert event.details == {
        "name": "YubiKey",
        "method": str(person.passkey.public_id),  # type: ignore[union-attr]
        "seen": 1,
        "sent": 1,
    }


def test_no_answer_from_the_browser_is_explained(two_step_with_passkey: Person) -> None:
    visitor = browser()
    sign_in(visitor, two_step_with_passkey.user)
    response = visitor.post("/security/verify/", {"method": "passkey", "credential": ""})
    assert response.status_code == 400
    assert "Your browser sent no passkey" in text(response)


# --- Renaming and removing ------------------------------------------------------------------------


def test_renaming_a_passkey_is_recorded_without_an_alert(
    user_with_passkey: Person, commits: Commits, mailbox: Mailbox
) -> None:
    person = user_with_passkey
    method = person.passkey
    assert method is not None
    page = text(person.client.get("/security/"))
    assert f'href="/security/methods/{method.public_id}/rename/"' in page
    form = text(person.client.get(f"/security/methods/{method.public_id}/rename/"))
    assert 'value="Phone passkey"' in form
    mailbox.clear()
    with commits(execute=True):
        response = person.client.post(
            f"/security/methods/{method.public_id}/rename/", {"name": "  Work   laptop "}
        )
    assert response["Location"] == "/security/"
    method.refresh_from_db()
    assert method.name == "Work laptop"
    assert method.authenticator is not None and str(method.authenticator) == "Work laptop"  # allauth's too
    event = events(person, "account:method:rename")[-1]
    assert event.details["from"] == "Phone passkey" and event.details["to"] == "Work laptop"
    assert alerts(mailbox, person.user.email) == []
    assert "<strong>Work laptop</strong>" in text(person.client.get("/security/"))

    blank = person.client.post(f"/security/methods/{method.public_id}/rename/", {"name": "   "})
    assert blank.status_code == 200
    method.refresh_from_db()
    assert method.name == "Work laptop"


def test_renaming_needs_a_recent_sign_in(user_with_passkey: Person, clock: Any) -> None:
    method = user_with_passkey.passkey
    assert method is not None
    clock.advance(10 * 60 + 1)
    response = user_with_passkey.client.post(
        f"/security/methods/{method.public_id}/rename/", {"name": "Other"}
    )
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    with pytest.raises(FreshSignInRequired):
        rename_sign_in_method(user=user_with_passkey.user, request=None, method=method, name="Other")
    method.refresh_from_db()
    assert method.name == "Phone passkey"


def test_removing_a_passkey_is_recorded_and_alerted(
    user_with_passkey: Person, commits: Commits, mailbox: Mailbox
) -> None:
    person = user_with_passkey
    method = person.passkey
    assert method is not None
    mailbox.clear()
    with commits(execute=True):
        response = person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert response["Location"] == "/security/"
    assert not Authenticator.objects.filter(user=person.user).exists()
    assert not SignInMethod.objects.filter(pk=method.pk).exists()
    event = events(person, "account:method:remove")[-1]
    assert event.details["kind"] == "passkey" and event.details["name"] == "Phone passkey"
    (alert,) = alerts(mailbox, person.user.email)
    assert "Passkey or security key “Phone passkey” was removed from the ways you sign in." in alert
    # It no longer signs anyone in, though the device still holds it.
    visitor = browser()
    sign_in_with_passkey(visitor, person.authenticator)
    assert not is_signed_in(visitor)


def test_removing_a_passkey_needs_a_recent_sign_in_and_a_passkey_can_give_it(
    user_with_passkey: Person, clock: Any
) -> None:
    person = user_with_passkey
    method = person.passkey
    assert method is not None
    clock.advance(10 * 60 + 1)
    response = person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert response["Location"].startswith("/accounts/reauthenticate/?next=")
    assert SignInMethod.objects.filter(pk=method.pk).exists()

    # Confirm it's you with the passkey itself.
    page = person.client.get("/accounts/2fa/webauthn/reauthenticate/?next=/security/")
    assert "Use your passkey" in text(page)
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"])
    response = person.client.post(
        "/accounts/2fa/webauthn/reauthenticate/?next=/security/", {"credential": json.dumps(answer)}
    )
    assert response.status_code == 302
    assert signed_in_recently(person.client.get("/").wsgi_request, person.user)
    person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert not SignInMethod.objects.filter(pk=method.pk).exists()


def test_a_copied_passkey_cannot_confirm_its_you(user_with_passkey: Person, clock: Any) -> None:
    person = user_with_passkey
    sign_in_with_passkey(browser(), person.authenticator, sign_count=30)
    clock.advance(10 * 60 + 1)
    page = person.client.get("/accounts/2fa/webauthn/reauthenticate/")
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"], sign_count=3)
    person.client.post("/accounts/2fa/webauthn/reauthenticate/", {"credential": json.dumps(answer)})
    assert not signed_in_recently(person.client.get("/").wsgi_request, person.user)
    assert events(person, "account:passkey:counter_backwards")


def test_the_last_second_step_passkey_is_guarded_while_two_step_is_on(
    user_with_passkey: Person, commits: Commits
) -> None:
    person = user_with_passkey
    turn_on_two_step(person.client, commits)
    method = person.passkey
    assert method is not None
    page = text(person.client.get(f"/security/methods/{method.public_id}/remove/"))
    assert "This is your only sign-in method" in page
    person.client.post(f"/security/methods/{method.public_id}/remove/")
    assert SignInMethod.objects.filter(pk=method.pk).exists()


def test_removing_the_password_alerts_and_renaming_a_method_does_not() -> None:
    assert catalog.get("account:password:remove").notify_user
    assert not catalog.get("account:method:rename").notify_user
