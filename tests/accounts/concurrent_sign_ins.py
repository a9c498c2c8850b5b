"""Twenty people sign in at the same moment against a SQLite file (run in its own process).

``python -m tests.accounts.concurrent_sign_ins`` with THRESHOLD_DATABASE_URL=sqlite:///FILE:
migrates, creates the accounts, then signs them in from 20 threads released together, each
with its own database connection as in a threaded app server. Prints a JSON summary.
"""

from __future__ import annotations

import json
import logging
import os
import threading

import django

PEOPLE = 20
PASSWORD = "correct horse battery staple 42"


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage() + (f" {record.exc_info[1]!r}" if record.exc_info else ""))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threshold.config.settings")
    django.setup()
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client

    from threshold.accounts.models import User
    from threshold.activity.models import SecurityEvent

    call_command("migrate", verbosity=0)
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(email=f"person{n}@example.com", password=hashed) for n in range(PEOPLE)]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users]
    )
    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    connections.close_all()

    remember = Remember()
    logging.getLogger().addHandler(remember)
    start = threading.Barrier(PEOPLE)
    outcomes: list[list[object]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def sign_in(n: int) -> None:
        client = Client(REMOTE_ADDR=f"198.51.100.{n + 1}", HTTP_HOST="127.0.0.1")
        try:
            client.get("/accounts/login/")
            start.wait(timeout=30)
            response = client.post(
                "/accounts/login/", {"login": f"person{n}@example.com", "password": PASSWORD}
            )
            with lock:
                outcomes.append([response.status_code, response.get("Location")])
        except Exception as exc:  # noqa: BLE001 - every failure is the finding
            with lock:
                errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(PEOPLE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    print(
        json.dumps(
            {
                "journal_mode": journal,
                "outcomes": outcomes,
                "errors": errors,
                "logged": remember.records,
                "sign_in_events": SecurityEvent.objects.filter(code="account:signin:success").count(),
            }
        )
    )


if __name__ == "__main__":
    main()
