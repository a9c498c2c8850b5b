"""Background work of the activity app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task


@task()
def deliver_security_alert(event_id: int) -> int:
    """Mail the security alert for one event (see ``services.send_security_alert``)."""
    from threshold.activity.services import send_security_alert

    return send_security_alert(event_id=event_id)


@task()
def prune_activity() -> dict[str, int]:
    """Delete events past their retention period (see ``services.prune_events``).

    Enqueue it daily from a scheduler, or run ``threshold prune_activity`` from cron.
    """
    from threshold.activity.services import prune_events

    pruned = prune_events()
    return {"sign_in": pruned.sign_in, "change": pruned.change}
