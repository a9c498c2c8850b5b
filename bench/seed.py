"""Prepare the benchmark's database: migrate, then create verified accounts that share one password.

Run with the benchmark server's environment (THRESHOLD_VAR_DIR and friends), never against a real
database: ``python bench/seed.py --accounts 3000 --password ...``. Prints one JSON line.

The password is hashed once with the configured hasher (Argon2id, the production parameters) and that
encoded hash is stored for every account, so creating thousands of accounts takes a second instead of
a minute of hashing. Verifying it costs exactly what verifying any other account's hash costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--domain", default="bench.example")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threshold.config.settings")
    import django

    django.setup()

    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth.hashers import identify_hasher, make_password
    from django.core.management import call_command
    from django.db import transaction

    from threshold.accounts.models import User

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3" or not str(db["NAME"]).startswith(
        os.environ.get("THRESHOLD_VAR_DIR", "\0")
    ):
        sys.exit("bench/seed.py only fills the benchmark's own SQLite file under THRESHOLD_VAR_DIR.")

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()

    encoded = make_password(args.password)
    hasher = identify_hasher(encoded)
    params = hasher.params()  # type: ignore[attr-defined]
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(
                    email=f"bench-{i:05d}@{args.domain}",
                    password=encoded,
                    given_name="Bench",
                    family_name=f"{i:05d}",
                )
                for i in range(args.accounts)
            ],
            batch_size=500,
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users],
            batch_size=500,
        )
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "email_pattern": f"bench-{{i:05d}}@{args.domain}",
                "hasher": type(hasher).__name__,
                "hash_prefix": encoded.split("$", 4)[:4],
                "argon2": {
                    "type": str(params.type.name),
                    "memory_kib": params.memory_cost,
                    "time_cost": params.time_cost,
                    "parallelism": params.parallelism,
                },
                "encoded": encoded,
                "settings": {
                    "HASHING_CONCURRENCY": settings.HASHING_CONCURRENCY,
                    "HASHING_QUEUE": getattr(settings, "HASHING_QUEUE", None),
                    "HASHING_NICENESS": getattr(settings, "HASHING_NICENESS", None),
                    "SESSION_ENGINE": settings.SESSION_ENGINE,
                    "CACHE": settings.CACHES["default"]["BACKEND"],
                    "CONN_MAX_AGE": db.get("CONN_MAX_AGE", 0),
                    "SQLITE_INIT": db.get("OPTIONS", {}).get("init_command", ""),
                },
                "migrate_seconds": round(migrated - started, 2),
                "seed_seconds": round(time.perf_counter() - migrated, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
