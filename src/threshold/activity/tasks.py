"""Background work of the activity app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task

from threshold.activity import alerts, retention


@task()
def deliver_security_alert(event_id: int) -> int:
    """Mail the security alert for one event (see ``alerts.send_security_alert``)."""
    return alerts.send_security_alert(event_id=event_id)


@task()
def prune_activity() -> dict[str, int]:
    """Delete events past their retention period (see ``retention.prune_events``).

    Enqueue it daily from a scheduler, or run ``threshold prune_activity`` from cron.
    """
    pruned = retention.prune_events()
    return {"sign_in": pruned.sign_in, "change": pruned.change}
