from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from threshold.recovery.services.closure import close_due_accounts
from threshold.recovery.services.export_archive import delete_expired_exports


class Command(BaseCommand):
    help = (
        "Close every account whose closure window has ended: delete its personal data and keep an "
        "anonymous tombstone; and delete data exports past their 24 hours. Safe to run at any time and more than once, e.g. daily from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        expired = delete_expired_exports()
        closed = close_due_accounts()
        self.stdout.write(
            f"Closed {closed} account(s) whose closure window had ended; deleted {expired} expired data export(s)."
        )
