"""Background work of the recovery app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task


@task()
def close_due_accounts() -> int:
    """Close every account whose window has ended (see ``services.close_due_accounts``).

    Enqueue it daily from a scheduler, or run ``threshold close_due_accounts`` from cron.
    """
    from threshold.recovery.services import close_due_accounts as close_due

    return close_due()
