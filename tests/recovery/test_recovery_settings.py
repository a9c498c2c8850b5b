"""THRESHOLD_RECOVERY_WAIT_DAYS, its bounds, and how the recovery events alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_configuration import run
from threshold.activity import catalog


def test_the_owner_hears_of_a_cancelled_or_completed_recovery() -> None:
    # Through the general alert. (That each recovery event type is emitted by some path is
    # checked for the whole suite by tests/emitted_events.py.)
    assert catalog.get("account:recovery:cancel").notify_user
    assert catalog.get("account:recovery:complete").notify_user


@pytest.mark.parametrize(
    ("value", "words"),
    [("0", "below the minimum of 1"), ("31", "above the maximum of 30"), ("a week", "not a whole number")],
)
def test_a_wait_out_of_bounds_stops_start_up_with_one_line(tmp_path: Path, value: str, words: str) -> None:
    result = run(["check"], tmp_path, THRESHOLD_RECOVERY_WAIT_DAYS=value)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    lines = [line for line in output.splitlines() if "THRESHOLD_RECOVERY_WAIT_DAYS" in line]
    assert len(lines) == 1, output
    assert words in lines[0]


def test_the_wait_can_be_set(tmp_path: Path) -> None:
    result = run(
        ["shell", "-c", "from django.conf import settings; print(settings.RECOVERY_WAIT_DAYS)"],
        tmp_path,
        THRESHOLD_RECOVERY_WAIT_DAYS="3",
    )
    assert result.stdout.strip().splitlines()[-1] == "3", result.stderr
