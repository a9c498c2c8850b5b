from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from threshold.activity.retention import prune_events


class Command(BaseCommand):
    help = (
        "Delete security events past their retention period: sign-ins after "
        "THRESHOLD_ACTIVITY_RETENTION_DAYS, security changes after THRESHOLD_CHANGE_RETENTION_DAYS. "
        "Safe to run at any time, e.g. daily from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per transaction.")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        pruned = prune_events(batch_size=max(1, batch_size))
        self.stdout.write(
            f"Deleted {pruned.sign_in} sign-in events older than {settings.ACTIVITY_RETENTION_DAYS} days "
            f"and {pruned.change} other events older than {settings.CHANGE_RETENTION_DAYS} days."
        )
