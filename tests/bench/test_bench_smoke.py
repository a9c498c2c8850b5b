"""The benchmark harness still runs end to end (``bench/run.py --quick``). Nothing here is timed:
on a shared two-core machine the figures of a quick run mean nothing, so only their presence and
the absence of errors are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db,  # only for the suite's autouse cache fixture; the benchmark has its own
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="binds clients to 127.x.y.z (Linux)"),
    pytest.mark.skipif(
        bool(os.environ.get("THRESHOLD_DATABASE_URL")),
        reason="the benchmark always uses its own SQLite file; once per suite run is enough",
    ),
]


def test_quick_benchmark_runs_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())

    assert data["kind"] == "quick"
    assert data["problems"] == []
    assert data["argon2"] == {"type": "ID", "memory_kib": 19 * 1024, "time_cost": 2, "parallelism": 1}
    assert data["config"]["worker_class"] == "gthread"
    assert data["hash"]["verifications"] > 0 and data["hash"]["per_second"] > 0

    sign_in = data["sign_in"]
    assert sign_in["sign_ins"] > 0 and sign_in["errors"] == 0
    assert sign_in["ratio_to_raw"] > 0

    assert sorted(data["overview"], key=int) == ["1", "3", "6"]
    for level in data["overview"].values():
        assert level["requests"] > 0 and level["errors"] == 0
        assert level["statuses"].keys() == {"200"}

    isolation = data["isolation"]
    assert isolation["unloaded"]["requests"] > 0 and isolation["flooded"]["requests"] > 0
    flood = isolation["flood"]
    assert flood["answered"] > 0 and flood["errors"] == 0
    assert set(flood["statuses"]) <= {"200", "503"}  # wrong passwords, or turned away when busy

    figures = {row["figure"] for row in data["targets"]}
    assert any(f.startswith("(b)") for f in figures) and any(f.startswith("(d)") for f in figures)
    assert "Figure" in result.stdout and "Met" in result.stdout


def test_quick_timing_benchmark_asks_every_step_about_both_kinds_of_address(tmp_path: Path) -> None:
    out = tmp_path / "timing.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "timing.py"), "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads(out.read_text())

    assert data["kind"] == "quick"
    steps = {row["step"]: row for row in data["steps"]}
    assert set(steps) == {
        "sign-in",
        "sign-up",
        "resend",
        "reset",
        "account recovery",
        "recovery request",
        "access pass",
    }
    for row in steps.values():
        assert row["errors"] == {"known": 0, "unknown": 0}, row
        # The same answer for a real account as for an unknown address, on every try.
        assert row["same_answers"] and sum(row["statuses"]["known"].values()) == row["tries"], row
        assert row["known_median_ms"] > 0 and row["unknown_median_ms"] > 0
    assert steps["reset"]["statuses"]["known"] == {"302": 5}
    assert steps["resend"]["statuses"]["known"] == {"302": 5}  # sent, not refused as too soon
    assert "under 2 ms" in result.stdout
