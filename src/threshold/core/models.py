"""What the shared kernel keeps in the database: the record of messages already handed on."""

from __future__ import annotations

from django.db import models


class SentMessage(models.Model):
    """One mail or text message handed to the mail server or SMS provider, by its stable key.

    The key is the delivery task's id (or one the producer chose, see ``outgoing.queue_mail``).
    A delivery that is run again, after a worker was killed mid-task, finds its key here and
    sends nothing a second time.
    """

    key = models.CharField(max_length=100, primary_key=True)
    channel = models.CharField(max_length=8)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)  # pruned by `threshold worker`

    def __str__(self) -> str:
        return f"{self.channel} {self.key}"
