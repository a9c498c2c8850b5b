"""Ada forgot her password: a code by email, a new password, and she signs in with it."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in
from tests.conftest import make_user

NEW_PASSWORD = "velvet harbour lantern 19"


def mailed_code(outbox: Path, to: str) -> str:
    """The code in the newest message to ``to`` in the outbox, read as a person would."""
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if to not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"^(\d{6})$", body, re.M)
        if match:
            return match.group(1)
    raise AssertionError(f"no code was mailed to {to}")


@pytest.mark.django_db(transaction=True)
def test_reset_a_forgotten_password_by_email(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    base = live_server.url
    ada = make_user(given_name="Ada", family_name="Lovelace")

    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Can't sign in?").click()
    expect(page.get_by_role("heading", name="Can't sign in?")).to_be_visible()
    page.get_by_role("link", name="I forgot my password").click()

    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email address", exact=True).fill(ada.email)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Where should we send a code?")).to_be_visible()
    expect(page.get_by_label("An email address on your account")).to_be_checked()
    expect(page.get_by_label("Email address", exact=True)).to_have_value(ada.email)
    shoot(page, "password-reset")
    page.get_by_role("button", name="Send a code").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(
        page.get_by_text("If ada@example.com is on your account, we've sent a code to it by email.")
    ).to_be_visible()
    page.get_by_label("Code").fill(mailed_code(outbox_dir, ada.email))
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_text("Your password was changed. Sign in with your new password.")).to_be_visible()
    sign_in(page, base, ada.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()
