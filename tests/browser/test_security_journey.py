"""A person adds an authenticator app, turns on two-step verification, and signs back in
with the app and with a recovery code."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in, sign_out
from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_authenticator_app_two_step_verification_and_recovery_code(
    page: Page, live_server: Any, shoot: Any
) -> None:
    base = live_server.url
    make_user("lin@example.com", given_name="Lin", family_name="Chen")
    sign_in(page, base, "lin@example.com")
    expect(page.get_by_role("heading", name="Welcome, Lin")).to_be_visible()

    # Security info → Add sign-in method → Authenticator app.
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Security info").click()
    expect(page.get_by_role("heading", name="Only your password protects your account")).to_be_visible()
    page.get_by_role("link", name="Add sign-in method").click()
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    secret = page.locator("#authenticator-secret").get_attribute("data-secret")
    assert secret
    page.reload()  # the key holds still
    assert page.locator("#authenticator-secret").get_attribute("data-secret") == secret
    shoot(page, "security-authenticator-app")
    app = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(app.now())
    page.get_by_label("Name").fill("Lin's phone")
    page.get_by_role("button", name="Save authenticator app").click()
    expect(page.get_by_role("heading", name="Two-step verification is off")).to_be_visible()
    expect(page.get_by_text("Lin's phone", exact=True)).to_be_visible()

    # Turn on two-step verification: the recovery codes are shown once.
    page.get_by_role("button", name="Turn on two-step verification").first.click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name="I have saved my codes").click()
    expect(page.get_by_role("heading", name="Your account is well protected")).to_be_visible()
    expect(page.get_by_text("10 codes left")).to_be_visible()
    shoot(page, "security-info")

    # Sign out, sign back in with the app.
    sign_out(page)
    sign_in(page, base, "lin@example.com")
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app")).to_be_visible()
    shoot(page, "sign-in-challenge")
    page.get_by_label("Code").fill(app.now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Welcome, Lin")).to_be_visible()

    # Sign out, sign back in another way: a recovery code.
    sign_out(page)
    sign_in(page, base, "lin@example.com")
    page.get_by_text("Sign in another way").click()
    page.get_by_role("link", name="Recovery code").click()
    expect(page.get_by_text("Enter one of the recovery codes you saved")).to_be_visible()
    shoot(page, "sign-in-challenge-recovery-code")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    # A recovery code may mean a lost method: she is led to set up a new one and new codes.
    expect(page.get_by_role("heading", name="Set up a new way to sign in")).to_be_visible()
    expect(page.get_by_text("You have 9 recovery codes left.")).to_be_visible()
    shoot(page, "recovery-set-up")

    page.get_by_role("navigation", name="My account").get_by_role("link", name="Security info").click()
    expect(page.get_by_text("9 codes left")).to_be_visible()
