from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from threshold.security.services.removal_wait import apply_due_removals


class Command(BaseCommand):
    help = (
        "Remove every sign-in method whose waiting period (replacing every older method) has ended. "
        "Safe to run at any time and more than once, e.g. daily from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        applied = apply_due_removals()
        self.stdout.write(f"Removed {applied} sign-in method(s) whose waiting period had ended.")
