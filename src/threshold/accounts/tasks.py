"""Background work of the accounts app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task

from threshold.accounts import services


@task()
def discard_expired_sign_ups() -> int:
    """Delete sign-ups still unverified THRESHOLD_UNVERIFIED_SIGNUP_HOURS after they were made
    (see ``services.discard_expired_sign_ups``).

    Idempotent. Enqueue it hourly from a scheduler, or run ``threshold discard_expired_sign_ups``
    from cron.
    """
    return services.discard_expired_sign_ups()
