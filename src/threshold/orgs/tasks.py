"""Background work of the orgs app (run by the configured TASKS backend)."""

from __future__ import annotations

from django.tasks import task

from threshold.orgs import notices


@task()
def deliver_held_sign_in_notice(event_id: int) -> int:
    """Mail the admins about a held sign-in (see ``notices.send_held_sign_in_notice``)."""
    return notices.send_held_sign_in_notice(event_id=event_id)
