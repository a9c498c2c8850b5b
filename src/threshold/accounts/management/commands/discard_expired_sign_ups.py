from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from threshold.accounts.services import discard_expired_sign_ups


class Command(BaseCommand):
    help = (
        "Delete accounts whose address nobody verified within THRESHOLD_UNVERIFIED_SIGNUP_HOURS of "
        "their sign-up, so that they don't hold someone else's address. Safe to run at any time and "
        "more than once, e.g. hourly from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        discarded = discard_expired_sign_ups()
        self.stdout.write(
            f"Deleted {discarded} sign-up(s) left unverified for {settings.UNVERIFIED_SIGNUP_HOURS} hours."
        )
