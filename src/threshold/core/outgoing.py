"""Queueing mail and text messages: the only way the portal sends either.

SECURITY: a request never talks to a mail server or an SMS provider. It adds a task row (in
the same transaction as the change that caused the message, so a rolled-back change sends
nothing), and ``threshold worker`` delivers it. A request about a real account therefore
takes no longer than one about an unknown account because of a slow mail server.
"""

from __future__ import annotations

import hashlib

from django.core.mail import EmailMessage, EmailMultiAlternatives

from threshold.core import tasks
from threshold.core.sms import require_e164


def _stable_key(key: str) -> str:
    return "k-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def queue_mail(message: EmailMessage, *, key: str = "") -> None:
    """Queue ``message`` for the worker.

    ``key`` names the message for a producer that may itself run twice (a task re-run after a
    killed worker): the second copy is then skipped. Without it the delivery task's id is the key.
    """
    if message.attachments:
        raise ValueError("queued mail carries no attachments")
    alternatives = (
        [[str(content), mimetype] for content, mimetype in message.alternatives]
        if isinstance(message, EmailMultiAlternatives)
        else []
    )
    tasks.deliver_mail.enqueue(
        message={
            "subject": str(message.subject),
            "body": str(message.body),
            "from_email": str(message.from_email),
            "to": list(message.to),
            "cc": list(message.cc),
            "bcc": list(message.bcc),
            "reply_to": list(message.reply_to),
            "headers": {str(k): str(v) for k, v in message.extra_headers.items()},
            "alternatives": alternatives,
        },
        key=_stable_key(key) if key else "",
    )


def queue_text(*, to: str, body: str, key: str = "") -> None:
    """Queue a text message to ``to`` (E.164; anything else raises SmsDeliveryError at once)."""
    require_e164(to)
    tasks.deliver_text.enqueue(to=to, body=body, key=_stable_key(key) if key else "")
