"""Ada finds her devices, names her laptop, removes an old phone, and locks her account."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.activity.helpers import GB, IPHONE_SAFARI, MAC_FIREFOX
from tests.browser.steps import MAC_CHROME
from tests.conftest import PASSWORD, make_user
from threshold.devices.models import Device


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "user_agent": MAC_CHROME,
        "extra_http_headers": {"X-Forwarded-For": "8.8.8.8"},
    }


@pytest.mark.django_db(transaction=True)
def test_devices_rename_remove_and_lock(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    settings.BASE_URL = live_server.url
    base = live_server.url
    ada = make_user(given_name="Ada", family_name="Lovelace", time_zone="Europe/London")
    # Her other computer, signed in now; and a phone she stopped using months ago.
    other = Client(HTTP_USER_AGENT=MAC_FIREFOX, REMOTE_ADDR=GB)
    assert other.post("/accounts/login/", {"login": ada.email, "password": PASSWORD}).status_code == 302
    phone = Client(HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR=GB)
    assert phone.post("/accounts/login/", {"login": ada.email, "password": PASSWORD}).status_code == 302
    Device.objects.filter(user=ada, browser="Mobile Safari").update(
        first_seen_at=timezone.now() - timedelta(days=200), last_seen_at=timezone.now() - timedelta(days=120)
    )

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(ada.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()

    page.get_by_role("navigation", name="My account").get_by_role("link", name="Devices").click()
    expect(page.get_by_role("heading", name="Devices", exact=True)).to_be_visible()
    this_one = page.locator("li.device--current")
    expect(this_one).to_contain_text("Chrome on Mac OS X")
    expect(this_one).to_contain_text("This device")
    stale = page.get_by_role("region", name="Not used for a long time")
    expect(stale).to_contain_text("Mobile Safari on iOS")
    expect(stale).to_contain_text("Not used for over 90 days")

    page.get_by_role("link", name="Rename Chrome on Mac OS X").click()
    page.get_by_label("Device name").fill("Ada's laptop")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The device is now called “Ada's laptop”.")).to_be_visible()
    expect(page.locator("li.device--current")).to_contain_text("Ada's laptop")

    page.get_by_role("button", name="Remove Mobile Safari on iOS").click()
    expect(page.get_by_text(re.compile("“Mobile Safari on iOS” was removed"))).to_be_visible()
    expect(page.get_by_role("region", name="Not used for a long time")).to_have_count(0)
    assert phone.get("/").status_code == 302  # signed out
    expect(page.get_by_role("region", name="Signed-in devices")).to_contain_text("Firefox on Mac OS X")
    shoot(page, "devices")

    page.get_by_role("link", name="Lock my account").click()
    expect(page.get_by_role("heading", name="Lock your account?")).to_be_visible()
    page.get_by_role("button", name="Lock my account").click()
    expect(page.get_by_role("heading", name="This account is locked")).to_be_visible()
    assert other.get("/").status_code == 302

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(ada.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("heading", name="This account is locked")).to_be_visible()
    expect(page.get_by_role("link", name="Reset your password by email")).to_be_visible()
