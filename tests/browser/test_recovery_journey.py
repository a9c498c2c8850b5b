"""Ada downloads her data, closes her account, changes her mind and reopens it."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.steps import sign_in
from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_download_close_and_reopen(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, settings: Any
) -> None:
    settings.BASE_URL = live_server.url
    base = live_server.url
    ada = make_user(given_name="Ada", family_name="Lovelace")
    sign_in(page, base, ada.email)
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()

    page.get_by_role("navigation", name="My account").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", name="Privacy", exact=True)).to_be_visible()
    page.get_by_role("button", name="Download your data").click()
    expect(page.get_by_text(re.compile("you can download your copy"))).to_be_visible()
    shoot(page, "privacy-export")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the ZIP").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert "profile.json" in archive.namelist()

    page.get_by_role("link", name="Close your account").click()
    expect(page.get_by_role("heading", name="Close your account?")).to_be_visible()
    expect(
        page.get_by_text("No apps sign in with this account yet, so none will lose access.")
    ).to_be_visible()
    page.get_by_label("60 days").check()
    page.get_by_label("Why are you leaving? (optional)").select_option("other_account")
    shoot(page, "close-account")
    page.get_by_role("button", name="Close my account").click()
    expect(page.get_by_role("heading", name="Your account is closing")).to_be_visible()

    sign_in(page, base, ada.email)
    expect(page.get_by_role("heading", name="This account is closing")).to_be_visible()
    shoot(page, "reopen-account")
    page.get_by_role("button", name="Reopen my account").click()
    expect(page.get_by_text("Your account was reopened. Welcome back.")).to_be_visible()
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()
    assert any(outbox_dir.glob("*.eml"))
