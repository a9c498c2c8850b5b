"""Background work of the security app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task

from threshold.security.services.removal_wait import apply_due_removals as apply_due


@task()
def apply_due_removals() -> int:
    """Remove every sign-in method whose wait has ended (see ``services.removal_wait.apply_due_removals``).

    Enqueue it daily from a scheduler, or run ``threshold apply_due_removals`` from cron.
    """
    return apply_due()
