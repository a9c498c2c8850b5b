"""Background work of the shared kernel: delivering queued mail and text messages."""

from __future__ import annotations

from typing import Any

from django.tasks import TaskContext, task

from threshold.core import delivery


@task(takes_context=True)
def deliver_mail(context: TaskContext, message: dict[str, Any] | None = None, key: str = "") -> bool:
    """Send one mail queued by ``outgoing.queue_mail``; its key is the task's id unless given."""
    task_id = str(context.task_result.id)
    return delivery.deliver_mail(key=key or task_id, task_id=task_id, message=message)


@task(takes_context=True)
def deliver_text(context: TaskContext, to: str = "", body: str = "", key: str = "") -> bool:
    """Send one text message queued by ``outgoing.queue_text``."""
    task_id = str(context.task_result.id)
    return delivery.deliver_text(key=key or task_id, task_id=task_id, to=to, body=body)
