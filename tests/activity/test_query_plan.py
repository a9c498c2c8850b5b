"""The activity page is a range read of one covering index: no table lookups, no sort step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.activity.helpers import US, past_sign_in
from tests.conftest import make_user
from threshold.activity import selectors
from threshold.activity.models import SecurityEvent
from threshold.activity.selectors import ActivityFilter, Show

pytestmark = pytest.mark.django_db


def plan(user: Any, **kwargs: Any) -> str:
    with CaptureQueriesContext(connection) as captured:
        selectors.activity_page(user, **kwargs)
    sql = next(q["sql"] for q in captured.captured_queries if 'FROM "activity_securityevent"' in q["sql"])
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # On a handful of test rows any plan is cheap, and PostgreSQL may well scan the time
        # index and sort. Forbid scans and sorts to ask whether an index path exists that
        # needs neither; the benchmark (bench/activity.py) checks the plan at 10M rows.
        for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def user_with_pages(user: Any) -> Any:
    other = make_user("grace@example.com")
    now = timezone.now()
    for minutes in range(30):
        past_sign_in(user, at=now - timedelta(minutes=minutes), ip=US)
        past_sign_in(other, at=now - timedelta(minutes=minutes))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user


@pytest.mark.parametrize(
    "filters",
    [ActivityFilter(), ActivityFilter(Show.FAILURES), ActivityFilter(Show.SIGN_INS)],
    ids=["all", "failures", "sign-ins"],
)
def test_first_and_next_page_read_only_the_covering_index_in_order(
    user_with_pages: Any, filters: Any
) -> None:
    first = selectors.activity_page(user_with_pages, filters=ActivityFilter(), size=10)
    assert first.next_cursor
    for cursor in ("", first.next_cursor):
        explained = plan(user_with_pages, filters=filters, cursor=cursor, size=10)
        assert "event_user_page" in explained, explained
        if connection.vendor == "sqlite":
            assert "USING COVERING INDEX event_user_page" in explained, explained
            assert "TEMP B-TREE" not in explained, explained
        else:
            assert "Index Only Scan using event_user_page" in explained, explained
            assert "Sort" not in explained, explained
        if cursor:
            # The cursor is part of the index range, not a filter applied row by row.
            assert "<" in explained, explained


def test_the_page_selects_only_columns_in_the_index() -> None:
    indexed = set(next(i for i in SecurityEvent._meta.indexes if i.name == "event_user_page").fields)
    indexed = {name.lstrip("-") for name in indexed} | {"id"}
    assert set(SecurityEvent.PAGE_COLUMNS) <= indexed
