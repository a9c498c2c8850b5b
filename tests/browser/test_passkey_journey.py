"""A person adds a passkey on Security info, signs out, and signs back in with the passkey
alone: no email, no password. Chromium's DevTools virtual authenticator plays the phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in, sign_out
from tests.conftest import make_user

VIRTUAL_PASSKEY_DEVICE = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.mark.django_db(transaction=True)
def test_add_a_passkey_then_sign_in_with_it_alone(page: Page, live_server: Any, shoot: Any) -> None:
    # WebAuthn needs a secure context and a host name: http://localhost is both.
    base = live_server.url.replace("127.0.0.1", "localhost")
    make_user("noor@example.com", given_name="Noor", family_name="Haddad")
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    device = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_PASSKEY_DEVICE})

    sign_in(page, base, "noor@example.com")
    expect(page.get_by_role("heading", name="Welcome, Noor")).to_be_visible()
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Security info").click()
    page.get_by_role("link", name="Add sign-in method").click()
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey or security key")).to_be_visible()
    expect(page.get_by_label("Use it to sign in without a password (a passkey)")).to_be_checked()
    page.get_by_label("Name").fill("Noor's laptop")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Passkey added.")).to_be_visible()
    expect(page.get_by_text("Noor's laptop", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Passkey · Added"))).to_be_visible()
    credentials = devtools.send("WebAuthn.getCredentials", {"authenticatorId": device["authenticatorId"]})
    assert [c["isResidentCredential"] for c in credentials["credentials"]] == [True]

    # Sign out, and back in with "Sign in with a passkey". The device waits for a touch
    # while the page is looked at (otherwise the email field's passkey autofill, pending
    # from the moment the page loads, would take it at once: see the end).
    touch = {"authenticatorId": device["authenticatorId"], "enabled": False}
    devtools.send("WebAuthn.setAutomaticPresenceSimulation", touch)
    sign_out(page)
    email = page.get_by_label("Email")
    expect(email).to_have_attribute("autocomplete", "username webauthn")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    shoot(page, "passkey-sign-in")
    devtools.send("WebAuthn.setAutomaticPresenceSimulation", {**touch, "enabled": True})
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Welcome, Noor")).to_be_visible()

    page.get_by_role("navigation", name="My account").get_by_role("link", name="Security info").click()
    expect(page.get_by_text(re.compile(r"Last used"))).to_be_visible()

    # Autofill: with the device at hand, the sign-in page's pending passkey request is
    # answered without a click, an email or a password.
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Welcome, Noor")).to_be_visible()
    expect(page.get_by_text("Successfully signed in as noor@example.com.")).to_be_visible()
