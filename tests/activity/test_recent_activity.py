"""Recent activity: the list, its filters and pages, one event, and the person's answers."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.activity.helpers import GB, IPHONE_SAFARI, SE, US, WINDOWS_CHROME, past_sign_in
from tests.conftest import PASSWORD, make_user
from threshold.accounts.models import User
from threshold.activity import selectors
from threshold.activity.models import EventReport, Result, SecurityEvent, SignInAssessment, Verdict
from threshold.activity.selectors import ActivityFilter, Show
from threshold.activity.services import record_event
from threshold.core.context import RequestContext

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client: Client, user: User) -> Client:
    """Ada, signed in from her laptop in the United Kingdom."""
    response = client.post(
        "/accounts/login/",
        {"login": user.email, "password": PASSWORD},
        REMOTE_ADDR=GB,
        HTTP_USER_AGENT=WINDOWS_CHROME,
    )
    assert response.status_code == 302
    return client


def page_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<strong id="event-(\d+)">', html)]


def next_link(html: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


# --- The list ------------------------------------------------------------------------------------


def test_the_page_lists_sign_ins_and_changes_newest_first_in_words(ada: Client, user: User) -> None:
    user.time_zone = "Asia/Tokyo"
    user.save(update_fields=["time_zone"])
    record_event(
        "account:profile:update",
        user=user,
        context=RequestContext(ip=SE, user_agent=IPHONE_SAFARI),
        details={"fields": ["display_name"]},
        occurred_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
    )
    response = ada.get("/activity/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Recent activity" in html
    assert "Times are in your time zone, Asia/Tokyo." in html
    assert "Signed in" in html and "Profile updated" in html
    assert "Chrome on Windows (Computer)" in html
    assert "Mobile Safari on iOS (Phone)" in html
    assert "United Kingdom" in html and "Sweden" in html
    assert GB in html
    assert "Password" in html
    assert "March 2, 2026, 8:30 a.m." in html  # 23:30 UTC on 1 March is 08:30 on 2 March in Tokyo
    sign_in = SecurityEvent.objects.get(user=user, code="account:signin:success")
    update = SecurityEvent.objects.get(user=user, code="account:profile:update")
    assert page_ids(html) == [sign_in.pk, update.pk]


def test_the_navigation_lists_recent_activity(ada: Client) -> None:
    html = ada.get("/").content.decode()
    assert '<a href="/activity/"' in html and "Recent activity" in html


def test_the_page_needs_a_signed_in_person(client: Client) -> None:
    response = client.get("/activity/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_the_persons_own_events_are_listed(ada: Client, user: User) -> None:
    grace = make_user("grace@example.com")
    theirs = past_sign_in(grace, at=timezone.now(), ip=US)
    html = ada.get("/activity/").content.decode()
    assert theirs.pk not in page_ids(html)
    assert "grace@example.com" not in html


def test_an_unfamiliar_sign_in_is_flagged_with_its_reasons(user: User) -> None:
    past_sign_in(user, at=timezone.now() - timedelta(days=3), ip=GB, agent=WINDOWS_CHROME)
    phone = Client()
    phone.post(
        "/accounts/login/",
        {"login": user.email, "password": PASSWORD},
        REMOTE_ADDR=US,
        HTTP_USER_AGENT=IPHONE_SAFARI,
    )
    html = phone.get("/activity/").content.decode()
    assert "Unfamiliar sign-in" in html
    assert "First sign-in from Mobile Safari on iOS" in html
    assert "First sign-in from United States" in html
    assert html.count("Unfamiliar sign-in") == 1


def test_the_list_reads_a_fixed_number_of_queries(
    ada: Client, user: User, django_assert_max_num_queries: Any
) -> None:
    now = timezone.now()
    for minutes in range(60):
        past_sign_in(user, at=now - timedelta(minutes=minutes), ip=US if minutes % 2 else GB)
    # The first page after signing in also takes the "signed in" notice out of the session and
    # records the session's first use; those one-time writes are not the list's.
    ada.get("/activity/")
    with django_assert_max_num_queries(6):
        response = ada.get("/activity/")
    assert len(page_ids(response.content.decode())) == 50


# --- Filters -------------------------------------------------------------------------------------------


@pytest.fixture
def mixed(user: User) -> dict[str, SecurityEvent]:
    base = timezone.now() - timedelta(days=2)
    laptop = RequestContext(ip=GB, user_agent=WINDOWS_CHROME)
    return {
        "ok": past_sign_in(user, at=base),
        "wrong": past_sign_in(
            user, at=base + timedelta(minutes=1), code="account:signin:failure", result=Result.FAILURE
        ),
        "blocked": past_sign_in(
            user, at=base + timedelta(minutes=2), code="account:signin:throttled", result=Result.BLOCKED
        ),
        "change": record_event(
            "account:password:change", user=user, context=laptop, occurred_at=base + timedelta(minutes=3)
        ),
        "old": record_event(
            "account:profile:update", user=user, context=laptop, occurred_at=base - timedelta(days=20)
        ),
    }


def shown(client: Client, query: str) -> set[int]:
    response = client.get(f"/activity/?{query}")
    assert response.status_code == 200
    return set(page_ids(response.content.decode()))


def test_filters(client: Client, user: User, mixed: dict[str, SecurityEvent]) -> None:
    client.force_login(user)  # a sign-in of its own, now
    ids = {name: event.pk for name, event in mixed.items()}
    ids["now"] = SecurityEvent.objects.filter(user=user).latest("id").pk
    assert shown(client, "") == set(ids.values())
    assert shown(client, "show=sign_ins") == {ids["now"], ids["ok"], ids["wrong"], ids["blocked"]}
    assert shown(client, "show=failures") == {ids["wrong"], ids["blocked"]}
    assert shown(client, "show=changes") == {ids["change"], ids["old"]}
    day = timezone.localdate(mixed["ok"].occurred_at)
    assert shown(client, f"start={day}") == {
        ids["now"],
        ids["ok"],
        ids["wrong"],
        ids["blocked"],
        ids["change"],
    }
    assert shown(client, f"end={day - timedelta(days=1)}") == {ids["old"]}
    old_day = timezone.localdate(mixed["old"].occurred_at)
    assert shown(client, f"start={old_day}&end={old_day}&show=changes") == {ids["old"]}


def test_the_date_range_is_read_in_the_persons_time_zone(client: Client, user: User) -> None:
    user.time_zone = "Pacific/Auckland"  # UTC+13 in summer
    user.save(update_fields=["time_zone"])
    client.force_login(user)
    event = past_sign_in(user, at=datetime(2026, 1, 10, 20, 0, tzinfo=UTC))  # 11 January in Auckland
    assert shown(client, "start=2026-01-11&end=2026-01-11") == {event.pk}
    assert shown(client, "start=2026-01-10&end=2026-01-10") == set()


def test_a_backwards_date_range_says_what_to_do_and_shows_everything(
    client: Client, user: User, mixed: dict[str, SecurityEvent]
) -> None:
    client.force_login(user)
    response = client.get("/activity/?start=2026-05-02&end=2026-05-01")
    html = response.content.decode()
    assert "The end date is before the start date." in html
    assert set(page_ids(html)) == set(SecurityEvent.objects.filter(user=user).values_list("pk", flat=True))
    assert len(page_ids(html)) == len(mixed) + 1


# --- Pages -----------------------------------------------------------------------------------------------


def test_keyset_pages_have_no_gaps_or_duplicates_even_on_equal_times(user: User) -> None:
    other = make_user("grace@example.com")
    moment = timezone.now().replace(microsecond=0)
    made = []
    for index in range(23):
        # Groups of five events share one timestamp, and another account's events interleave.
        made.append(past_sign_in(user, at=moment - timedelta(seconds=index // 5)).pk)
        past_sign_in(other, at=moment - timedelta(seconds=index // 5))
    expected = sorted(made, key=lambda pk: (SecurityEvent.objects.get(pk=pk).occurred_at, pk), reverse=True)
    seen: list[int] = []
    cursor = ""
    pages = 0
    while True:
        page = selectors.activity_page(user, cursor=cursor, size=4)
        seen += [item.event.pk for item in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages == 6


def test_the_page_walks_older_pages_by_link_with_filters_kept(ada: Client, user: User) -> None:
    moment = timezone.now() - timedelta(hours=1)
    for index in range(120):
        past_sign_in(user, at=moment - timedelta(seconds=index // 7))
    record_event("account:password:change", user=user, occurred_at=moment)
    expected = list(
        SecurityEvent.objects.filter(user=user, code="account:signin:success")
        .order_by("-occurred_at", "-id")
        .values_list("pk", flat=True)
    )
    seen: list[int] = []
    url: str | None = "/activity/?show=sign_ins"
    while url:
        html = ada.get(url).content.decode()
        seen += page_ids(html)
        url = next_link(html)
        if url:
            assert url.startswith("/activity/?show=sign_ins&after=")
    assert seen == expected
    assert len(seen) == 121  # the fixture's own sign-in and these 120


def test_a_cursor_that_is_not_ours_starts_from_the_newest(ada: Client, user: User) -> None:
    for cursor in ("nonsense", "MTIz", "%%%", "LTEuLTE", "9" * 60):
        response = ada.get("/activity/", {"after": cursor})
        assert response.status_code == 200
    assert selectors.decode_cursor("nonsense") is None
    event = SecurityEvent.objects.get(user=user)
    assert selectors.decode_cursor(selectors.encode_cursor(event)) == (event.occurred_at, event.pk)


def test_the_chart_is_only_on_the_first_page(ada: Client, user: User) -> None:
    for index in range(55):
        past_sign_in(user, at=timezone.now() - timedelta(minutes=index + 1))
    first = ada.get("/activity/").content.decode()
    assert "<svg" in first
    second = ada.get(next_link(first) or "").content.decode()
    assert "sign-in-chart" not in second and "Newest activity" in second


# --- One event -------------------------------------------------------------------------------------------


def test_one_event_shows_everything_about_it(ada: Client, user: User) -> None:
    event = record_event(
        "account:email:primary",
        user=user,
        context=RequestContext(ip=US, user_agent=WINDOWS_CHROME),
        details={"from": "old@example.com", "to": "new@example.com", "internal": "not shown"},
    )
    html = ada.get(f"/activity/{event.pk}/").content.decode()
    assert "Primary email address changed" in html
    assert "old@example.com" in html and "new@example.com" in html
    assert "not shown" not in html
    assert "United States" in html and US in html
    assert "Chrome" in html and "Windows" in html and "Computer" in html
    assert WINDOWS_CHROME in html
    assert "This wasn" not in html  # only sign-ins are answered


def test_another_accounts_event_is_not_found(ada: Client, user: User) -> None:
    grace = make_user("grace@example.com")
    theirs = past_sign_in(grace, at=timezone.now(), ip=US)
    assert ada.get(f"/activity/{theirs.pk}/").status_code == 404
    assert ada.get(f"/activity/{theirs.pk}/secure/").status_code == 404
    assert ada.get("/activity/987654321/").status_code == 404


# --- "This was me" and "This wasn't me" -----------------------------------------------------------------


def test_this_wasnt_me_reports_the_sign_in_and_leads_to_securing_the_account(ada: Client, user: User) -> None:
    sign_in = past_sign_in(user, at=timezone.now() - timedelta(hours=2), ip=US, agent=IPHONE_SAFARI)
    response = ada.post(f"/activity/{sign_in.pk}/this-wasnt-me/")
    assert response.status_code == 302
    assert response["Location"] == f"/activity/{sign_in.pk}/secure/"
    assert EventReport.objects.get(event=sign_in).verdict == Verdict.NOT_ME
    reported = SecurityEvent.objects.get(user=user, code="account:signin:reported")
    assert reported.details["sign_in_country"] == "US"
    assert reported.details["sign_in_device"] == "Mobile Safari on iOS"
    # The sign-in itself is untouched.
    assert SecurityEvent.objects.get(pk=sign_in.pk).details == {}

    html = ada.get(response["Location"]).content.decode()
    assert "Secure your account" in html
    assert 'href="/accounts/password/change/"' in html
    assert 'action="/sign-out-everywhere/"' in html
    assert "Review sign-in methods" in html
    assert 'href="/security/"' in html  # Security info, where the sign-in methods are

    listing = ada.get("/activity/").content.decode()
    assert "You reported this wasn" in listing
    detail = ada.get(f"/activity/{reported.pk}/").content.decode()
    assert "Sign-in reported as not you" in detail and "United States" in detail


def test_this_was_me_is_recorded_and_can_still_become_not_me_but_not_back(ada: Client, user: User) -> None:
    sign_in = past_sign_in(user, at=timezone.now() - timedelta(hours=2), ip=US, agent=IPHONE_SAFARI)
    response = ada.post(f"/activity/{sign_in.pk}/this-was-me/", {"next": "/activity/?show=sign_ins"})
    assert response["Location"] == "/activity/?show=sign_ins"
    assert EventReport.objects.get(event=sign_in).verdict == Verdict.ME
    assert SecurityEvent.objects.filter(code="account:signin:confirmed").count() == 1
    assert "You confirmed this was you" in ada.get("/activity/").content.decode()

    ada.post(f"/activity/{sign_in.pk}/this-was-me/")  # the same answer again changes nothing
    assert SecurityEvent.objects.filter(code="account:signin:confirmed").count() == 1

    ada.post(f"/activity/{sign_in.pk}/this-wasnt-me/")
    assert EventReport.objects.get(event=sign_in).verdict == Verdict.NOT_ME
    assert SecurityEvent.objects.filter(code="account:signin:reported").count() == 1

    # SECURITY: whoever is signed in cannot withdraw the report.
    ada.post(f"/activity/{sign_in.pk}/this-was-me/")
    assert EventReport.objects.get(event=sign_in).verdict == Verdict.NOT_ME
    assert SecurityEvent.objects.filter(code="account:signin:confirmed").count() == 1


def test_an_unsafe_next_goes_back_to_the_list(ada: Client, user: User) -> None:
    sign_in = past_sign_in(user, at=timezone.now() - timedelta(hours=2))
    response = ada.post(f"/activity/{sign_in.pk}/this-was-me/", {"next": "https://evil.example/"})
    assert response["Location"] == "/activity/"


def test_answering_about_another_accounts_sign_in_is_not_found_and_changes_nothing(
    ada: Client, user: User
) -> None:
    grace = make_user("grace@example.com")
    theirs = past_sign_in(grace, at=timezone.now(), ip=US)
    events_before = SecurityEvent.objects.count()
    for answer in ("this-was-me", "this-wasnt-me"):
        assert ada.post(f"/activity/{theirs.pk}/{answer}/").status_code == 404
    assert ada.post("/activity/987654321/this-wasnt-me/").status_code == 404
    assert not EventReport.objects.exists()
    assert SecurityEvent.objects.count() == events_before


def test_only_sign_ins_can_be_answered(ada: Client, user: User) -> None:
    change = record_event("account:password:change", user=user)
    assert ada.post(f"/activity/{change.pk}/this-wasnt-me/").status_code == 404
    assert not EventReport.objects.exists()


def test_answers_need_a_post_with_a_csrf_token(user: User) -> None:
    sign_in = past_sign_in(user, at=timezone.now())
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.get(f"/activity/{sign_in.pk}/this-wasnt-me/").status_code == 405
    assert strict.post(f"/activity/{sign_in.pk}/this-wasnt-me/").status_code == 403
    assert not EventReport.objects.exists()


def test_signed_out_answers_go_to_sign_in(client: Client, user: User) -> None:
    sign_in = past_sign_in(user, at=timezone.now())
    response = client.post(f"/activity/{sign_in.pk}/this-wasnt-me/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not EventReport.objects.exists()


def test_reports_and_assessments_live_beside_the_append_only_event(user: User) -> None:
    event = past_sign_in(user, at=timezone.now())
    assessment = SignInAssessment.objects.create(event=event, score=1, unfamiliar=True, reasons=[])
    with pytest.raises(RuntimeError):
        assessment.save()
    with pytest.raises(RuntimeError):
        event.save()


def test_filter_values_are_read_as_a_filter(user: User) -> None:
    from threshold.activity.forms import ActivityFilterForm

    form = ActivityFilterForm({"show": "failures", "start": "2026-01-01", "end": "2026-01-31"})
    assert form.filters() == ActivityFilter(Show.FAILURES, date(2026, 1, 1), date(2026, 1, 31))
    assert form.query() == "show=failures&start=2026-01-01&end=2026-01-31"
    assert ActivityFilterForm({"show": "everything"}).filters() == ActivityFilter()


def test_the_date_filters_keep_iso_dates_in_every_language(client: Client, user: User) -> None:
    user.locale = "es"
    user.save(update_fields=["locale"])
    client.force_login(user)
    html = client.get("/activity/?start=2026-01-31&end=2026-02-01").content.decode()
    assert 'value="2026-01-31"' in html and 'value="2026-02-01"' in html


EXTREME_DATES = [
    "end=9999-12-31",
    "start=9999-12-31",
    "start=0001-01-01",
    "end=0001-01-01",
    "start=0001-01-01&end=9999-12-31",
    "end=99999-01-01",
    "end=2026-02-30",
    "end=-2026-01-01",
]


@pytest.mark.parametrize("query", EXTREME_DATES)
def test_an_extreme_or_impossible_date_is_the_forms_own_error(
    client: Client, user: User, mixed: dict[str, SecurityEvent], query: str
) -> None:
    client.force_login(user)
    response = client.get(f"/activity/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field__error"' in html
    # Like a backwards range: the error is shown and the list is unfiltered.
    assert len(page_ids(html)) == len(mixed) + 1


def test_a_cursor_past_the_database_ranges_starts_from_the_newest(ada: Client, user: User) -> None:
    for raw in (f"0.{2**63}", f"0.{10**30}", f"{10**30}.1", f"-{10**17}.1", "0.-5"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        response = ada.get("/activity/", {"after": cursor})
        assert response.status_code == 200, raw
    assert selectors.decode_cursor(base64.urlsafe_b64encode(f"0.{2**63}".encode()).decode()) is None
