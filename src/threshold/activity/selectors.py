"""Reads over the security events: the activity page, its chart, one event, a sign-in's history."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleLessThan
from django.db.models.functions import TruncDate
from django.utils import timezone

from threshold.activity import catalog
from threshold.activity.models import EventReport, Result, SecurityEvent, SignInAssessment, Verdict
from threshold.activity.types import PastSignIn, Reason
from threshold.core.context import DeviceSummary, describe_user_agent

PAGE_SIZE = 50
SIGN_IN = "account:signin:success"
CHART_DAYS = 30


def events_for(user: Any, *, limit: int = 20) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-id")[:limit]


def last_sign_in(user: Any) -> SecurityEvent | None:
    return SecurityEvent.objects.filter(user=user, code=SIGN_IN).order_by("-occurred_at", "-id").first()


# --- One row of Recent activity ------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityItem:
    """An event with what the person said about it and why it looked unusual, if it did."""

    event: SecurityEvent
    assessment: SignInAssessment | None = None
    report: EventReport | None = None

    @property
    def label(self) -> str:
        return catalog.label_for(self.event.code)

    @cached_property
    def device(self) -> DeviceSummary:
        return describe_user_agent(self.event.user_agent)

    @property
    def device_kind(self) -> str:
        return catalog.device_kind_label(self.device.kind)

    @property
    def country_name(self) -> str:
        return catalog.country_label(self.event.country)

    @property
    def method(self) -> str:
        return catalog.method_label(self.event.method) if self.event.method else ""

    @property
    def is_sign_in(self) -> bool:
        """A successful sign-in: the kind of event the person can say "This wasn't me" about."""
        return self.event.code == SIGN_IN

    @property
    def failed(self) -> bool:
        return self.event.result != Result.SUCCESS

    @property
    def unfamiliar(self) -> bool:
        return self.assessment is not None and self.assessment.unfamiliar

    @cached_property
    def reasons(self) -> list[Reason]:
        if self.assessment is None:
            return []
        return [r for r in (Reason.from_json(data) for data in self.assessment.reasons) if r is not None]

    @property
    def confirmed(self) -> bool:
        return self.report is not None and self.report.verdict == Verdict.ME

    @property
    def reported(self) -> bool:
        return self.report is not None and self.report.verdict == Verdict.NOT_ME

    @property
    def details(self) -> list[tuple[str, str]]:
        return catalog.detail_rows(self.event.details or {})


# --- The page: filters and keyset pagination ---------------------------------------------------------


class Show(StrEnum):
    ALL = "all"
    SIGN_INS = "sign_ins"
    FAILURES = "failures"
    CHANGES = "changes"


@dataclass(frozen=True)
class ActivityFilter:
    show: Show = Show.ALL
    start: date | None = None  # inclusive, in the person's time zone
    end: date | None = None  # inclusive


@dataclass(frozen=True)
class ActivityPage:
    items: list[ActivityItem]
    next_cursor: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(event: SecurityEvent) -> str:
    """An opaque position after ``event``: its time (whole microseconds) and id."""
    micros = (event.occurred_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{event.pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position in ``cursor``, or None for anything that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros, event_id = (int(part) for part in raw.split("."))
        position = _EPOCH + timedelta(microseconds=micros)
        # SECURITY: an id past the database's 64-bit integers was a 500 (an overflow in the driver).
        if not 0 < event_id < 2**63:
            return None
        return position, event_id
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        return None


def _filtered(user: Any, filters: ActivityFilter) -> QuerySet[SecurityEvent]:
    events = SecurityEvent.objects.filter(user=user)
    if filters.show == Show.SIGN_INS:
        events = events.filter(code__in=catalog.codes(category=catalog.Category.SIGN_IN))
    elif filters.show == Show.CHANGES:
        events = events.filter(code__in=catalog.codes(category=catalog.Category.CHANGE))
    elif filters.show == Show.FAILURES:
        events = events.exclude(result=Result.SUCCESS)
    zone = timezone.get_current_timezone()
    if filters.start is not None:
        events = events.filter(occurred_at__gte=datetime.combine(filters.start, time.min, tzinfo=zone))
    if filters.end is not None:
        next_day = filters.end + timedelta(days=1)
        events = events.filter(occurred_at__lt=datetime.combine(next_day, time.min, tzinfo=zone))
    return events


def activity_page(
    user: Any, *, filters: ActivityFilter | None = None, cursor: str = "", size: int = PAGE_SIZE
) -> ActivityPage:
    """One page of the person's events, newest first, after ``cursor``.

    Keyset pagination on (occurred_at, id): each page is a range read of the covering index
    ``event_user_page`` that stops after ``size + 1`` rows, with no OFFSET, no COUNT and no
    sort step, so the tenth page costs what the first does, whatever the size of the table.
    """
    events = _filtered(user, filters or ActivityFilter())
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        # Django's own row-value comparison, (occurred_at, id) < (%s, %s): one index range.
        events = events.filter(TupleLessThan(Tuple(F("occurred_at"), F("id")), position))
    # The answers and assessments come in the same query: two primary-key lookups per row
    # into small tables, cheaper than two more round trips.
    rows = list(
        events.select_related("assessment", "report")
        .only(*SecurityEvent.PAGE_COLUMNS, *_ANSWER_COLUMNS)
        .order_by("-occurred_at", "-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return ActivityPage(
        items=[_item(event) for event in rows], next_cursor=encode_cursor(rows[-1]) if more and rows else None
    )


_ANSWER_COLUMNS = (
    "assessment__score",
    "assessment__unfamiliar",
    "assessment__reasons",
    "report__verdict",
    "report__answered_at",
)


def _item(event: SecurityEvent) -> ActivityItem:
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    return ActivityItem(event, getattr(event, "assessment", None), getattr(event, "report", None))


def activity_item(user: Any, event_id: int) -> ActivityItem | None:
    """One of the person's events with everything about it; None for anyone else's."""
    event = (
        SecurityEvent.objects.filter(user=user, pk=event_id).select_related("assessment", "report").first()
    )
    return _item(event) if event is not None else None


def sign_in_event(user: Any, event_id: int) -> SecurityEvent | None:
    """One of the person's successful sign-ins; None for any other event or anyone else's."""
    return SecurityEvent.objects.filter(user=user, pk=event_id, code=SIGN_IN).first()


# --- The chart: 30 days of sign-ins, and the countries they came from ---------------------------------


@dataclass(frozen=True)
class SignInDay:
    day: date
    succeeded: int
    failed: int


@dataclass(frozen=True)
class CountrySeen:
    code: str
    succeeded: int
    failed: int

    @property
    def name(self) -> str:
        return catalog.country_label(self.code)

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


def _attempts_since(user: Any, days: int, now: datetime | None) -> tuple[QuerySet[SecurityEvent], date]:
    zone = timezone.get_current_timezone()
    first_day = timezone.localtime(now or timezone.now(), zone).date() - timedelta(days=days - 1)
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    attempts = SecurityEvent.objects.filter(
        user=user, occurred_at__gte=start, code__in=catalog.sign_in_attempt_codes()
    )
    return attempts, first_day


def sign_in_days(user: Any, *, days: int = CHART_DAYS, now: datetime | None = None) -> list[SignInDay]:
    """Successful and failed sign-in attempts per day of the person's time zone, oldest first."""
    attempts, first_day = _attempts_since(user, days, now)
    zone = timezone.get_current_timezone()
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    rows = (
        attempts.annotate(day=TruncDate("occurred_at", tzinfo=zone))
        .values("day")
        .annotate(
            succeeded=Count("id", filter=Q(result=Result.SUCCESS)),
            failed=Count("id", filter=~Q(result=Result.SUCCESS)),
        )
        .order_by()
    )
    for row in rows:
        counts[row["day"]] = [row["succeeded"], row["failed"]]
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        succeeded, failed = counts.get(day, (0, 0))
        result.append(SignInDay(day, succeeded, failed))
    return result


def countries_seen(user: Any, *, days: int = CHART_DAYS, now: datetime | None = None) -> list[CountrySeen]:
    """Where the person's sign-in attempts of the last ``days`` came from, most frequent first."""
    attempts, _first_day = _attempts_since(user, days, now)
    rows = (
        attempts.values("country")
        .annotate(
            succeeded=Count("id", filter=Q(result=Result.SUCCESS)),
            failed=Count("id", filter=~Q(result=Result.SUCCESS)),
        )
        .order_by()
    )
    seen = [CountrySeen(row["country"], row["succeeded"], row["failed"]) for row in rows]
    return sorted(seen, key=lambda c: (-c.total, c.code == "", c.name))


# --- What the risk rules compare a new sign-in with ---------------------------------------------------


def sign_in_history(user: Any, *, limit: int) -> list[PastSignIn]:
    """The account's most recent successful sign-ins, newest first, less those reported as not them."""
    rows = (
        SecurityEvent.objects.filter(user=user, code=SIGN_IN)
        .exclude(report__verdict=Verdict.NOT_ME)
        .order_by("-occurred_at", "-id")
        .values_list("occurred_at", "user_agent", "country")[:limit]
    )
    return [PastSignIn(occurred_at, user_agent, country) for occurred_at, user_agent, country in rows]


def failed_sign_ins_since(user: Any, *, since: datetime, limit: int) -> int:
    """How many sign-in attempts on the account failed after ``since`` (counted up to ``limit``)."""
    failures = SecurityEvent.objects.filter(
        user=user,
        code__in=catalog.sign_in_attempt_codes(),
        result=Result.FAILURE,
        occurred_at__gt=since,
    )
    return len(failures.values_list("id", flat=True)[:limit])
