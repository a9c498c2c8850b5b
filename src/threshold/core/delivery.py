"""Keyed delivery: the worker's side of sending a queued mail or text message.

SECURITY: nothing here runs inside a request (see ``outgoing``), so how long a mail server or
SMS provider takes to answer says nothing to whoever asked for a code about an account.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django_tasks_db.models import DBTaskResult

from threshold.core.models import SentMessage
from threshold.core.sms import get_sms_gateway

logger = logging.getLogger(__name__)


def message_id(key: str) -> str:
    """The Message-ID of the mail with ``key``: the same on every attempt, so a receiving
    server (or person) can tell a resent copy from a new message."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "threshold.invalid"
    return f"<{key}@{domain}>"


def already_sent(key: str) -> bool:
    return SentMessage.objects.filter(key=key).exists()


def first_run(key: str) -> bool:
    """Record, inside the caller's transaction, that the work named ``key`` is done; False when
    it already was (a task re-run after its worker was killed, once its work had committed)."""
    try:
        with transaction.atomic():
            SentMessage.objects.create(key=key, channel="task")
    except IntegrityError:
        return False
    return True


def _mark_sent(*, key: str, channel: str, task_id: str) -> None:
    try:
        with transaction.atomic():
            SentMessage.objects.create(key=key, channel=channel)
    except IntegrityError:
        pass  # a parallel run of the same message recorded it first
    # SECURITY: a message may hold a one-time code; once sent, its copy in the queue is
    # blanked, so the task table does not keep readable codes (codes are stored hashed).
    # Only the database backend keeps a copy (its ids are UUIDs); the immediate backend,
    # which runs a task in the request that queued it, keeps none.
    try:
        uuid.UUID(task_id)
    except ValueError:
        return
    DBTaskResult.objects.filter(pk=task_id).update(args_kwargs={"args": [], "kwargs": {}})


def deliver_mail(*, key: str, task_id: str, message: dict[str, Any] | None) -> bool:
    """Send one queued mail unless its key is already recorded as sent; True when sent now."""
    if message is None or already_sent(key):
        return False
    mail = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=message["from_email"],
        to=message["to"],
        cc=message.get("cc") or [],
        bcc=message.get("bcc") or [],
        reply_to=message.get("reply_to") or [],
        headers={**message.get("headers", {}), "Message-ID": message_id(key)},
    )
    for content, mimetype in message.get("alternatives", []):
        mail.attach_alternative(content, mimetype)
    mail.send()
    _mark_sent(key=key, channel="mail", task_id=task_id)
    return True


def deliver_text(*, key: str, task_id: str, to: str, body: str) -> bool:
    """Send one queued text message unless its key is already recorded as sent."""
    if not to or already_sent(key):
        return False
    get_sms_gateway().send(to=to, body=body)
    _mark_sent(key=key, channel="sms", task_id=task_id)
    return True
