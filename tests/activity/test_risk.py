"""Each unfamiliar-sign-in rule on its own, then over the database's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.activity.helpers import (
    BR,
    GB,
    IPHONE_SAFARI,
    MAC_FIREFOX,
    US,
    WINDOWS_CHROME,
    WINDOWS_CHROME_NEWER,
    past_sign_in,
)
from tests.conftest import make_user
from threshold.activity import risk
from threshold.activity.models import EventReport, Result, Verdict
from threshold.activity.risk import Attempt, History
from threshold.activity.types import PastSignIn, Reason, Rule
from threshold.core.context import RequestContext

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def attempt(*, agent: str = WINDOWS_CHROME, country: str = "GB", at: datetime = NOW) -> Attempt:
    return Attempt(occurred_at=at, user_agent=agent, country=country)


def history(*sign_ins: tuple[timedelta, str, str], failures: int = 0) -> History:
    """Sign-ins given as (how long before NOW, user agent, country), newest first."""
    return History(
        sign_ins=[PastSignIn(NOW - ago, agent, country) for ago, agent, country in sign_ins],
        recent_failures=failures,
    )


LAPTOP_IN_GB = (timedelta(days=2), WINDOWS_CHROME, "GB")


# --- New device ------------------------------------------------------------------------------


def test_new_device_fires_for_a_browser_and_os_never_used() -> None:
    reason = risk.new_device(attempt(agent=IPHONE_SAFARI), history(LAPTOP_IN_GB))
    assert reason is not None and reason.rule == Rule.NEW_DEVICE
    assert reason.facts["device"] == "Mobile Safari on iOS"
    assert reason.text() == "First sign-in from Mobile Safari on iOS"


def test_new_device_ignores_a_browser_update() -> None:
    assert risk.new_device(attempt(agent=WINDOWS_CHROME_NEWER), history(LAPTOP_IN_GB)) is None


def test_new_device_is_silent_without_history() -> None:
    assert risk.new_device(attempt(agent=IPHONE_SAFARI), history()) is None


# --- New country ------------------------------------------------------------------------------


def test_new_country_fires_for_a_country_never_signed_in_from() -> None:
    reason = risk.new_country(attempt(country="BR"), history(LAPTOP_IN_GB))
    assert reason is not None and reason.facts == {"country": "BR"}
    assert reason.text() == "First sign-in from Brazil"


def test_new_country_is_silent_for_a_known_country_an_unknown_address_or_no_history() -> None:
    assert risk.new_country(attempt(country="GB"), history(LAPTOP_IN_GB)) is None
    assert risk.new_country(attempt(country=""), history(LAPTOP_IN_GB)) is None
    assert risk.new_country(attempt(country="BR"), history()) is None


# --- Impossible travel --------------------------------------------------------------------------


def test_distance_between_country_centres() -> None:
    km = risk.distance_km("GB", "US")
    assert km is not None and 6500 < km < 7500
    assert risk.distance_km("GB", "GB") == 0
    assert risk.distance_km("GB", "XX") is None


def test_every_iso_country_has_a_centre() -> None:
    points = risk.centroids()
    assert len(points) == 249
    assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in points.values())
    assert {"GB", "US", "SE", "BR", "AQ", "UM", "BV"} <= set(points)


def test_impossible_travel_fires_faster_than_a_plane() -> None:
    quick = history((timedelta(minutes=30), WINDOWS_CHROME, "GB"))
    reason = risk.impossible_travel(attempt(country="US"), quick)
    assert reason is not None
    assert reason.facts["from"] == "GB" and reason.facts["to"] == "US"
    assert reason.facts["minutes"] == 30
    assert 6500 < reason.facts["km"] < 7500
    assert "faster than anyone can travel" in reason.text()
    assert "United Kingdom" in reason.text()


def test_impossible_travel_allows_the_flight() -> None:
    # About 6,900 km in 10 hours is under 1,000 km/h.
    flight = history((timedelta(hours=10), WINDOWS_CHROME, "GB"))
    assert risk.impossible_travel(attempt(country="US"), flight) is None


def test_impossible_travel_ignores_neighbours_short_hops_and_unknown_places() -> None:
    # France and Belgium share a border: their centres, 557 km apart, say nothing about Lille
    # and Brussels. Canada and the United States likewise.
    next_door = history((timedelta(minutes=1), WINDOWS_CHROME, "FR"))
    assert risk.distance_km("FR", "BE") > risk.MIN_TRAVEL_DISTANCE_KM
    assert "BE" in risk.neighbours("FR") and "FR" in risk.neighbours("BE")
    assert risk.impossible_travel(attempt(country="BE"), next_door) is None
    from_us = history((timedelta(minutes=1), WINDOWS_CHROME, "US"))
    assert risk.impossible_travel(attempt(country="CA"), from_us) is None
    # Luxembourg and the Netherlands share no border, but their centres are close.
    from_lu = history((timedelta(minutes=1), WINDOWS_CHROME, "LU"))
    assert risk.impossible_travel(attempt(country="NL"), from_lu) is None
    assert risk.impossible_travel(attempt(country=""), next_door) is None
    unknown_before = history((timedelta(minutes=1), WINDOWS_CHROME, ""))
    assert risk.impossible_travel(attempt(country="US"), unknown_before) is None


def test_impossible_travel_compares_with_the_latest_sign_in_with_a_known_country() -> None:
    sign_ins = history(
        (timedelta(minutes=5), WINDOWS_CHROME, ""),  # private address: no country
        (timedelta(minutes=20), WINDOWS_CHROME, "GB"),
        (timedelta(days=30), WINDOWS_CHROME, "US"),
    )
    reason = risk.impossible_travel(attempt(country="US"), sign_ins)
    assert reason is not None and reason.facts["from"] == "GB" and reason.facts["minutes"] == 20


# --- Success after failures ---------------------------------------------------------------------


def test_success_after_three_failures_fires() -> None:
    reason = risk.success_after_failures(attempt(), history(LAPTOP_IN_GB, failures=3))
    assert reason is not None and reason.facts == {"failures": 3}
    assert reason.text() == "Came after 3 failed attempts to sign in"


def test_success_after_two_failures_is_fine() -> None:
    assert risk.success_after_failures(attempt(), history(LAPTOP_IN_GB, failures=2)) is None


# --- The score ----------------------------------------------------------------------------------


def test_a_familiar_sign_in_scores_nothing() -> None:
    assessment = risk.assess(attempt(), history(LAPTOP_IN_GB))
    assert assessment.reasons == () and assessment.score == 0 and not assessment.unfamiliar


def test_an_account_without_history_is_not_unfamiliar() -> None:
    assessment = risk.assess(attempt(agent=IPHONE_SAFARI, country="BR"), history())
    assert not assessment.unfamiliar


def test_reasons_add_up() -> None:
    quick = history((timedelta(minutes=10), WINDOWS_CHROME, "GB"), failures=4)
    assessment = risk.assess(attempt(agent=IPHONE_SAFARI, country="US"), quick)
    assert [r.rule for r in assessment.reasons] == [
        Rule.NEW_DEVICE,
        Rule.NEW_COUNTRY,
        Rule.IMPOSSIBLE_TRAVEL,
        Rule.SUCCESS_AFTER_FAILURES,
    ]
    assert assessment.score == 5 and assessment.unfamiliar
    stored = assessment.reasons_json()
    assert [Reason.from_json(data) for data in stored] == list(assessment.reasons)


def test_a_retired_rule_in_a_stored_row_is_skipped() -> None:
    assert Reason.from_json({"rule": "no_longer_a_rule"}) is None


# --- Over the database ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_assess_reads_the_accounts_own_history() -> None:
    ada = make_user("ada@example.com")
    other = make_user("grace@example.com")
    past_sign_in(ada, at=NOW - timedelta(days=3), ip=GB, agent=WINDOWS_CHROME)
    past_sign_in(other, at=NOW - timedelta(days=1), ip=US, agent=MAC_FIREFOX)
    context = RequestContext(ip=US, user_agent=MAC_FIREFOX)
    assessment = risk.assess_sign_in(user=ada, context=context, occurred_at=NOW)
    assert {r.rule for r in assessment.reasons} == {Rule.NEW_DEVICE, Rule.NEW_COUNTRY}


@pytest.mark.django_db
def test_failures_count_only_within_the_hour_and_since_the_last_success() -> None:
    ada = make_user("ada@example.com")
    past_sign_in(ada, at=NOW - timedelta(days=3))
    for minutes in (90, 80, 70):  # more than an hour ago
        past_sign_in(
            ada, at=NOW - timedelta(minutes=minutes), code="account:signin:failure", result=Result.FAILURE
        )
    context = RequestContext(ip=GB, user_agent=WINDOWS_CHROME)
    assert not risk.assess_sign_in(user=ada, context=context, occurred_at=NOW).unfamiliar

    for minutes in (30, 20, 10):
        past_sign_in(
            ada, at=NOW - timedelta(minutes=minutes), code="account:signin:failure", result=Result.FAILURE
        )
    assessment = risk.assess_sign_in(user=ada, context=context, occurred_at=NOW)
    assert [r.rule for r in assessment.reasons] == [Rule.SUCCESS_AFTER_FAILURES]
    assert assessment.reasons[0].facts == {"failures": 3}

    # Once a sign-in has followed them, those failures are settled.
    past_sign_in(ada, at=NOW - timedelta(minutes=5))
    assert not risk.assess_sign_in(user=ada, context=context, occurred_at=NOW).unfamiliar


@pytest.mark.django_db
def test_a_sign_in_reported_as_not_me_never_becomes_familiar() -> None:
    ada = make_user("ada@example.com")
    past_sign_in(ada, at=NOW - timedelta(days=3), ip=GB, agent=WINDOWS_CHROME)
    intruder = past_sign_in(ada, at=NOW - timedelta(days=1), ip=BR, agent=MAC_FIREFOX)
    context = RequestContext(ip=BR, user_agent=MAC_FIREFOX)
    assert not risk.assess_sign_in(user=ada, context=context, occurred_at=NOW).unfamiliar

    EventReport.objects.create(event=intruder, verdict=Verdict.NOT_ME)
    assessment = risk.assess_sign_in(user=ada, context=context, occurred_at=NOW)
    assert {r.rule for r in assessment.reasons} == {Rule.NEW_DEVICE, Rule.NEW_COUNTRY}


@pytest.mark.django_db
def test_wrong_codes_at_the_second_step_count_as_failures() -> None:
    ada = make_user("ada@example.com")
    past_sign_in(ada, at=NOW - timedelta(days=3))
    for minutes in (9, 8, 7):
        past_sign_in(
            ada,
            at=NOW - timedelta(minutes=minutes),
            code="account:signin:second_step:failure",
            result=Result.FAILURE,
        )
    context = RequestContext(ip=GB, user_agent=WINDOWS_CHROME)
    assessment = risk.assess_sign_in(user=ada, context=context, occurred_at=NOW)
    assert [r.rule for r in assessment.reasons] == [Rule.SUCCESS_AFTER_FAILURES]
