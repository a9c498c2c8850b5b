"""Organization moved from accounts to orgs: a database made before the move keeps its rows.

The suite itself runs without migrations, so this builds a database of its own with
``threshold``'s real migrations in a child process: SQLite in a temporary file, or a fresh
PostgreSQL database beside the test one when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

SCRIPT = r"""
import json
import django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0005_user_closed_at_user_closes_at_and_more")]
executor = MigrationExecutor(connection)
executor.migrate(BEFORE)  # the database as main's migrations left it
old = executor.loader.project_state(BEFORE).apps
Organization = old.get_model("accounts", "Organization")
User = old.get_model("accounts", "User")
northwind = Organization.objects.create(name="Northwind", slug="northwind", verified_domains=["northwind.example"])
nancy = User.objects.create(email="nancy@northwind.example", kind="work", organization=northwind)
User.objects.create(email="alex@example.com")
before = {"org": northwind.pk, "public_id": str(northwind.public_id), "nancy": nancy.pk}

executor = MigrationExecutor(connection)
executor.migrate(executor.loader.graph.leaf_nodes())

from threshold.orgs.models import Membership, Organization as Moved
moved = Moved.objects.get(slug="northwind")
print(json.dumps({
    "before": before,
    "org": moved.pk,
    "public_id": str(moved.public_id),
    "domains": moved.verified_domains,
    "licence": moved.licence,
    "members": list(moved.members.values_list("pk", flat=True)),
    "memberships": list(Membership.objects.values_list("user_id", "organization_id", "role", "home")),
}))
"""


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the suite's kind, removed afterwards."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'before-the-move.sqlite3'}"
        return
    import psycopg

    params = connection.settings_dict
    name = f"threshold_orgs_migration_{secrets.token_hex(4)}"
    conninfo = f"host={params['HOST'] or '127.0.0.1'} port={params['PORT'] or 5432} user={params['USER']} dbname=postgres"
    if params["PASSWORD"]:
        conninfo += f" password={params['PASSWORD']}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    try:
        yield f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_existing_organisation_and_its_members_survive_the_move(
    fresh_database: str, tmp_path: Path
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
    before = found["before"]
    assert found["org"] == before["org"] and found["public_id"] == before["public_id"]
    assert found["domains"] == ["northwind.example"] and found["licence"] == "standard"
    assert found["members"] == [before["nancy"]]
    assert found["memberships"] == [[before["nancy"], before["org"], "member", True]]
