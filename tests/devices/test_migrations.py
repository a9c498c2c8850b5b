"""TrustedDevice moved from security to devices: a database made before the move keeps its
rows, the link to their device, and the table they are in; the move also runs backwards.

The suite itself runs without migrations, so this builds a database of its own with
``threshold``'s real migrations in a child process (SQLite, or a fresh PostgreSQL database
beside the test one), as tests/orgs/test_migrations.py does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.orgs.test_migrations import fresh_database  # noqa: F401  (the fixture)

SCRIPT = r"""
import json
from datetime import timedelta
import django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("security", "0005_encrypt_authenticator_secrets"), ("devices", "0001_initial")]
executor = MigrationExecutor(connection)
executor.migrate(BEFORE)  # the database as the last release left it
old = executor.loader.project_state(BEFORE).apps
User = old.get_model("accounts", "User")
Device = old.get_model("devices", "Device")
DeviceTrust = old.get_model("devices", "DeviceTrust")
OldTrusted = old.get_model("security", "TrustedDevice")
ada = User.objects.create(email="ada@example.com")
laptop = Device.objects.create(user=ada, cookie_hash="c" * 64, browser="Firefox", os="Linux")
trusted = OldTrusted.objects.create(
    user=ada, token_hash="t" * 64, expires_at=timezone.now() + timedelta(days=30), browser="Firefox", os="Linux"
)
DeviceTrust.objects.create(trusted_device=trusted, device=laptop)
before = {"pk": trusted.pk, "public_id": str(trusted.public_id), "device": laptop.pk}

executor = MigrationExecutor(connection)
executor.migrate(executor.loader.graph.leaf_nodes())
from threshold.devices.models import TrustedDevice
moved = TrustedDevice.objects.get(user__email="ada@example.com")
forward = {
    "pk": moved.pk,
    "public_id": str(moved.public_id),
    "token_hash": moved.token_hash,
    "device": moved.device_link.device_id,
    "table": TrustedDevice._meta.db_table,
    "tables": sorted(t for t in connection.introspection.table_names() if "trusteddevice" in t),
}

executor = MigrationExecutor(connection)
executor.migrate(BEFORE)
back = executor.loader.project_state(BEFORE).apps.get_model("security", "TrustedDevice")
backward = list(back.objects.values_list("pk", flat=True))
print(json.dumps({"before": before, "forward": forward, "backward": backward}))
"""


def test_trusted_devices_made_before_the_move_keep_their_rows_and_their_device(
    fresh_database: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "threshold.config.settings",
        "THRESHOLD_DATABASE_URL": fresh_database,
        "THRESHOLD_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    before, forward = found["before"], found["forward"]
    assert forward["pk"] == before["pk"] and forward["public_id"] == before["public_id"]
    assert forward["token_hash"] == "t" * 64
    assert forward["device"] == before["device"]
    assert forward["table"] == "security_trusteddevice"
    assert forward["tables"] == ["security_trusteddevice"]
    assert found["backward"] == [before["pk"]]
