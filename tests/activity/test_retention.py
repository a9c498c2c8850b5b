"""Retention: sign-in events after 90 days, changes after two years, in batches."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.activity.helpers import past_sign_in
from tests.conftest import make_user
from threshold.activity.models import EventReport, Result, SecurityEvent, SignInAssessment, Verdict
from threshold.activity.retention import prune_events
from threshold.activity.services import record_event
from threshold.activity.tasks import prune_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(user: Any) -> dict[str, SecurityEvent]:
    now = timezone.now()

    def days_ago(n: int) -> Any:
        return now - timedelta(days=n)

    other = make_user("grace@example.com")
    events = {
        "sign_in_91": past_sign_in(user, at=days_ago(91)),
        "failure_91": past_sign_in(
            user, at=days_ago(91), code="account:signin:failure", result=Result.FAILURE
        ),
        "other_sign_in_100": past_sign_in(other, at=days_ago(100)),
        "sign_in_89": past_sign_in(user, at=days_ago(89)),
        "change_91": record_event("account:password:change", user=user, occurred_at=days_ago(91)),
        "change_729": record_event("account:email:add", user=user, occurred_at=days_ago(729)),
        "change_731": record_event("account:email:add", user=user, occurred_at=days_ago(731)),
        "confirmed_91": record_event("account:signin:confirmed", user=user, occurred_at=days_ago(91)),
        "reported_91": record_event("account:signin:reported", user=user, occurred_at=days_ago(91)),
        # A type since removed from the catalogue keeps the longer retention.
        "retired_100": SecurityEvent.objects.create(
            code="account:retired", user=user, occurred_at=days_ago(100)
        ),
        "retired_800": SecurityEvent.objects.create(
            code="account:retired", user=user, occurred_at=days_ago(800)
        ),
    }
    SignInAssessment.objects.create(event=events["sign_in_91"], score=1, unfamiliar=True, reasons=[])
    EventReport.objects.create(event=events["sign_in_91"], verdict=Verdict.NOT_ME)
    return events


GONE = {"sign_in_91", "failure_91", "other_sign_in_100", "change_731", "confirmed_91", "retired_800"}


def remaining(aged: dict[str, SecurityEvent]) -> set[str]:
    left = set(SecurityEvent.objects.values_list("pk", flat=True))
    return {name for name, event in aged.items() if event.pk in left}


def test_prune_deletes_exactly_the_rows_past_their_retention(aged: dict[str, SecurityEvent]) -> None:
    pruned = prune_events(batch_size=2)
    assert remaining(aged) == set(aged) - GONE
    assert (pruned.sign_in, pruned.change) == (4, 2)
    assert not SignInAssessment.objects.exists() and not EventReport.objects.exists()
    assert prune_events().total == 0  # nothing left to do


def test_retention_periods_come_from_settings(aged: dict[str, SecurityEvent], settings: Any) -> None:
    settings.ACTIVITY_RETENTION_DAYS = 95
    settings.CHANGE_RETENTION_DAYS = 90
    prune_events()
    assert remaining(aged) == {"sign_in_89", "sign_in_91", "failure_91", "confirmed_91"}


def test_the_command_an_operator_runs_from_cron(aged: dict[str, SecurityEvent]) -> None:
    out = StringIO()
    call_command("prune_activity", "--batch-size", "3", stdout=out)
    assert remaining(aged) == set(aged) - GONE
    assert (
        "Deleted 4 sign-in events older than 90 days and 2 other events older than 730 days."
        in out.getvalue()
    )


def test_the_scheduled_task(aged: dict[str, SecurityEvent]) -> None:
    result = prune_activity.enqueue()
    assert result.return_value == {"sign_in": 4, "change": 2}
    assert remaining(aged) == set(aged) - GONE
