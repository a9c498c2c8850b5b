"""The 30-day chart of sign-ins and the countries they came from."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone

from tests.activity.helpers import BR, GB, US, past_sign_in
from threshold.accounts.models import User
from threshold.activity import chart, selectors
from threshold.activity.models import Result
from threshold.activity.selectors import SignInDay

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def days(*counts: tuple[int, int]) -> list[SignInDay]:
    first = date(2026, 11, 1)
    return [SignInDay(first + timedelta(days=i), ok, failed) for i, (ok, failed) in enumerate(counts)]


def test_bars_stack_failed_above_succeeded_on_a_round_scale() -> None:
    drawn = chart.build(days((3, 0), (0, 0), (6, 3)))
    assert [line.value for line in drawn.grid] == [0, 5, 10]
    tall = drawn.bars[2]
    assert tall.succeeded_height == round(6 * chart.PLOT_HEIGHT / 10)
    assert tall.failed_height == round(9 * chart.PLOT_HEIGHT / 10) - tall.succeeded_height
    assert tall.succeeded_y + tall.succeeded_height == drawn.baseline
    assert tall.failed_y + tall.failed_height == tall.succeeded_y
    assert drawn.bars[1].succeeded_height == drawn.bars[1].failed_height == 0
    assert (drawn.succeeded, drawn.failed) == (9, 3)
    assert [b.x for b in drawn.bars] == sorted(b.x for b in drawn.bars)


def test_scale_tops() -> None:
    assert [line.value for line in chart.build(days((0, 0))).grid] == [0, 2, 4]
    assert chart.build(days((0, 0))).empty
    assert chart.build(days((41, 0))).grid[-1].value == 50
    assert chart.build(days((101, 0))).grid[-1].value == 200


@pytest.mark.django_db
def test_days_and_countries_are_counted_in_the_persons_time_zone(user: User) -> None:
    past_sign_in(user, at=NOW - timedelta(hours=1), ip=GB)
    past_sign_in(
        user, at=NOW - timedelta(hours=2), ip=US, code="account:signin:failure", result=Result.FAILURE
    )
    past_sign_in(
        user, at=NOW - timedelta(hours=3), ip=US, code="account:signin:throttled", result=Result.BLOCKED
    )
    past_sign_in(user, at=datetime(2026, 11, 20, 23, 30, tzinfo=UTC), ip=BR)  # 21 November in Tokyo
    past_sign_in(user, at=NOW - timedelta(days=31), ip=GB)  # before the window
    with timezone.override("Asia/Tokyo"):
        counted = selectors.sign_in_days(user, now=NOW)
        seen = selectors.countries_seen(user, now=NOW)
    assert len(counted) == 30
    assert counted[-1] == SignInDay(date(2026, 11, 27), 1, 2)
    assert counted[0].day == date(2026, 10, 29)
    by_day = {d.day: d for d in counted}
    assert by_day[date(2026, 11, 21)] == SignInDay(date(2026, 11, 21), 1, 0)
    assert sum(d.succeeded for d in counted) == 2
    assert [(c.code, c.succeeded, c.failed) for c in seen] == [("US", 0, 2), ("BR", 1, 0), ("GB", 1, 0)]
    assert seen[0].name == "United States"


@pytest.mark.django_db
def test_the_page_draws_the_chart_as_accessible_inline_svg_without_inline_style(
    client: Client, user: User
) -> None:
    client.force_login(user)
    now = timezone.now()
    for hours in range(1, 6):
        past_sign_in(user, at=now - timedelta(hours=hours), ip=GB)
    past_sign_in(
        user, at=now - timedelta(days=3), ip=US, code="account:signin:failure", result=Result.FAILURE
    )
    response = client.get("/activity/")
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp

    svg_source = re.search(r"<svg role=\"img\".*?</svg>", html, re.S)
    assert svg_source is not None
    svg = ElementTree.fromstring(svg_source.group(0))  # well-formed XML
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert svg.get("aria-labelledby") == "chart-title chart-desc"
    assert svg.find("svg:title", ns) is not None
    desc = svg.find("svg:desc", ns)
    assert desc is not None and "6 successful sign-ins and 1 failed or blocked attempts" in (desc.text or "")
    bars = svg.findall("svg:g", ns)
    assert len(bars) == 30
    fills = {rect.get("fill") for rect in svg.iter("{http://www.w3.org/2000/svg}rect")}
    assert fills == {chart.SUCCEEDED_FILL, chart.FAILED_FILL}
    assert "style=" not in html  # CSP: no inline style anywhere on the page
    assert "<script>" not in html and "<script " not in html.replace('<script src="', "")

    # The same numbers as a table.
    table = re.search(r"<details class=\"sign-in-chart__data\">.*?</details>", html, re.S)
    assert table is not None and table.group(0).count("<tr>") == 31
    assert "Where they came from" in html
    assert "United Kingdom" in html and "1 failed attempt" in html


@pytest.mark.django_db
def test_an_empty_chart_still_renders(client: Client, user: User, settings: Any) -> None:
    client.force_login(user)
    html = client.get("/activity/").content.decode()
    assert '<svg role="img"' in html
