"""Ada signs in from a new computer abroad, gets the alert, finds the sign-in and reports it."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.activity.helpers import BR, GB, IPHONE_SAFARI, SE, WINDOWS_CHROME, past_sign_in
from tests.browser.steps import MAC_CHROME
from tests.conftest import PASSWORD, make_user
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import RequestContext


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # The portal sits behind a proxy on this machine that says the browser is at 8.8.8.8 (US).
    return {
        **browser_context_args,
        "user_agent": MAC_CHROME,
        "extra_http_headers": {"X-Forwarded-For": "8.8.8.8"},
    }


def history(user: Any) -> None:
    """Three weeks of Ada's sign-ins from her laptop in the UK, her phone, and a few strangers."""
    now = timezone.now()
    for days in range(20, 0, -1):
        if days % 3:
            past_sign_in(user, at=now - timedelta(days=days, hours=days % 5), ip=GB, agent=WINDOWS_CHROME)
        if days % 7 == 0:
            past_sign_in(user, at=now - timedelta(days=days, hours=3), ip=SE, agent=IPHONE_SAFARI)
    for minutes in (3, 2, 1):
        past_sign_in(
            user,
            at=now - timedelta(days=4, minutes=minutes),
            ip=BR,
            agent=WINDOWS_CHROME,
            code="account:signin:failure",
            result=Result.FAILURE,
        )
    laptop = RequestContext(ip=GB, user_agent=WINDOWS_CHROME)
    record_event(
        "account:profile:update",
        user=user,
        context=laptop,
        occurred_at=now - timedelta(days=6),
        details={"fields": ["display_name"]},
    )
    record_event("account:password:change", user=user, context=laptop, occurred_at=now - timedelta(days=9))
    past_sign_in(user, at=now - timedelta(hours=2), ip=GB, agent=WINDOWS_CHROME)


@pytest.mark.django_db(transaction=True)
def test_an_unfamiliar_sign_in_is_mailed_shown_and_reported(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    settings.BASE_URL = live_server.url
    base = live_server.url
    ada = make_user(given_name="Ada", family_name="Lovelace", time_zone="Europe/London")
    history(ada)

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(ada.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()

    # Recent activity: the chart, the countries, and the new sign-in flagged at the top.
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Recent activity").click()
    expect(page.get_by_role("heading", name="Recent activity", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Sign-ins in the last 30 days")).to_be_visible()
    countries = page.get_by_role("region", name="Where they came from")
    expect(countries).to_contain_text("United Kingdom")
    expect(countries).to_contain_text("Brazil")
    newest = page.locator(".activity-list > li").first
    expect(newest).to_contain_text("Signed in")
    expect(newest).to_contain_text("Chrome on Mac OS X (Computer)")
    expect(newest).to_contain_text("United States")
    expect(newest).to_contain_text("Unfamiliar sign-in")
    expect(newest).to_contain_text("First sign-in from United States")
    shoot(page, "recent-activity")

    # The filters narrow the list to failures.
    page.get_by_label("Show").select_option(label="Failures only")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".activity-list > li")).to_have_count(3)
    expect(page.locator(".activity-list")).to_contain_text("Sign-in failed: wrong password")
    page.get_by_role("link", name="Clear filters").click()

    # The alert came at once, with a link to this sign-in. The demo outbox answers only this
    # machine, never a client a proxy forwards, so it is read in a browser without that proxy.
    assert page.context.browser is not None
    reader = page.context.browser.new_context()
    mail = reader.new_page()
    mail.goto(f"{base}/outbox/")
    alert = mail.locator("article", has_text="Unfamiliar sign-in").first
    expect(alert).to_contain_text("Chrome on Mac OS X")
    body = alert.locator("pre").inner_text()
    link = re.search(rf"{re.escape(base)}/activity/\d+/", body)
    assert link, body
    assert len(mail.locator("article", has_text="Unfamiliar sign-in").all()) == 1
    reader.close()

    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    expect(page.get_by_text("Unfamiliar sign-in")).to_be_visible()
    expect(page.get_by_text(re.compile(r"km from your sign-in in United Kingdom"))).to_be_visible()
    shoot(page, "unfamiliar-sign-in")

    page.get_by_role("button", name="This wasn't me").click()
    expect(page.get_by_role("heading", name="Secure your account")).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out everywhere else")).to_be_visible()
    page.get_by_role("link", name="Back to Recent activity").click()
    rows = page.locator(".activity-list > li")
    expect(rows.first).to_contain_text("Sign-in reported as not you")
    expect(rows.nth(1)).to_contain_text("You reported this wasn't you")
    expect(rows.nth(1).get_by_role("button", name="This wasn't me")).to_have_count(0)
