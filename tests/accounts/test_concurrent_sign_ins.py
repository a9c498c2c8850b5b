"""Twenty sign-ins at once on SQLite never meet "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_concurrent_sign_ins_on_a_sqlite_file(tmp_path: Path) -> None:
    # A process of its own: the test database is in memory, and this needs a real file
    # with WAL, the busy timeout and IMMEDIATE transactions exactly as the settings make them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    env.update(
        {
            "THRESHOLD_VAR_DIR": str(tmp_path),
            "THRESHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'threshold.sqlite3'}",
            "PYTHONPATH": str(ROOT),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.accounts.concurrent_sign_ins"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["journal_mode"] == "wal"
    assert "locked" not in result.stdout + result.stderr
    assert summary["errors"] == []
    assert summary["logged"] == []
    assert summary["outcomes"] == [[302, "/"]] * 20
    assert summary["sign_in_events"] == 20
