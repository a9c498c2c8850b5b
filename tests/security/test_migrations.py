"""Authenticator-app secrets stored in plain text before encryption are sealed by the migration,
and opened again by its reverse.

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
from threshold.core import crypto

KEY = crypto.new_key()

SCRIPT = r"""
import json
import django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("security", "0004_scheduledremoval"), ("mfa", "0003_authenticator_type_uniq")]
AFTER = [("security", "0005_encrypt_authenticator_secrets")]
executor = MigrationExecutor(connection)
executor.migrate(BEFORE)  # the database as the last release left it
old = executor.loader.project_state(BEFORE).apps
User = old.get_model("accounts", "User")
Authenticator = old.get_model("mfa", "Authenticator")
ada = User.objects.create(email="ada@example.com")
grace = User.objects.create(email="grace@example.com")
app = Authenticator.objects.create(user=ada, type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
other = Authenticator.objects.create(user=grace, type="totp", data={"secret": "KRSXG5CTMVRXEZLU"})
passkey = Authenticator.objects.create(user=grace, type="webauthn", data={"credential": {"id": "abc"}})

def stored():
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, data FROM mfa_authenticator ORDER BY id")
        return {str(pk): data if isinstance(data, dict) else json.loads(data) for pk, data in cursor.fetchall()}

executor = MigrationExecutor(connection)
executor.migrate(AFTER)
forward = stored()
executor = MigrationExecutor(connection)
executor.migrate(BEFORE)
backward = stored()
print(json.dumps({"ids": [app.pk, other.pk, passkey.pk], "forward": forward, "backward": backward}))
"""


def test_plain_secrets_are_encrypted_by_the_migration_and_decrypted_by_its_reverse(
    fresh_database: str,  # noqa: F811
    tmp_path: Path,
    settings: object,
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "threshold.config.settings",
        "THRESHOLD_DATABASE_URL": fresh_database,
        "THRESHOLD_VAR_DIR": str(tmp_path),
        "THRESHOLD_ENCRYPTION_KEYS": KEY,
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    app, other, passkey = (str(pk) for pk in found["ids"])

    forward = found["forward"]
    settings.ENCRYPTION_KEYS = [crypto.decode_key(KEY)]  # type: ignore[attr-defined]
    for pk, plain in ((app, "JBSWY3DPEHPK3PXP"), (other, "KRSXG5CTMVRXEZLU")):
        sealed = forward[pk]["secret"]
        assert plain not in sealed and sealed.startswith("enc1:")
        assert crypto.decrypt(sealed, purpose="mfa") == plain
    assert forward[passkey] == {"credential": {"id": "abc"}}  # a passkey has no secret to seal

    backward = found["backward"]
    assert backward[app] == {"secret": "JBSWY3DPEHPK3PXP"}
    assert backward[other] == {"secret": "KRSXG5CTMVRXEZLU"}
    assert backward[passkey] == {"credential": {"id": "abc"}}
