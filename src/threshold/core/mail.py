"""Mail: the outbox twin of an SMTP server, and the one helper that sends our own messages."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.utils import timezone, translation

from threshold.core.outgoing import queue_mail


class OutboxEmailBackend(BaseEmailBackend):
    """Writes each message as an ``.eml`` file, so nothing sent in development is lost."""

    def __init__(self, *, directory: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.directory = Path(directory or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
            # Written to a temporary name and renamed, so a reader never sees half a message.
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".part")
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.message().as_bytes())
            os.replace(tmp, self.directory / name)
            sent += 1
        return sent


def send_templated_mail(
    *,
    template: str,
    to: Sequence[str],
    context: dict[str, Any],
    language: str | None = None,
    key: str = "",
) -> None:
    """Render ``<template>_subject.txt``, ``_message.txt`` and ``_message.html`` and queue them
    for the worker (``outgoing.queue_mail``; ``key`` as there).

    The message is rendered in the recipient's language, not the language of the request
    that caused it.
    """
    if not to:
        return
    with translation.override(language or settings.LANGUAGE_CODE):
        full_context = {"base_url": settings.BASE_URL, **context}
        subject = render_to_string(f"{template}_subject.txt", full_context).strip()
        text = render_to_string(f"{template}_message.txt", full_context)
        html = render_to_string(f"{template}_message.html", full_context)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
    )
    message.attach_alternative(html, "text/html")
    queue_mail(message, key=key)
