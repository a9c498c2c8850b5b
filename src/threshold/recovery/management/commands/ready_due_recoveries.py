from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from threshold.recovery.services.recovery_completion import mark_due_recoveries_ready


class Command(BaseCommand):
    help = (
        "Mark account recoveries whose waiting period is over as ready, mailing each its 'ready' notice, "
        "and expire recoveries that were not completed in time. Safe to run at any time and more than "
        "once, e.g. hourly from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        readied, expired = mark_due_recoveries_ready()
        self.stdout.write(f"{readied} account recovery(ies) made ready; {expired} expired.")
