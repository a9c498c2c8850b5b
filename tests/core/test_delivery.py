"""A delivery run by the immediate backend (inside the request that queued it, as tests run
most tasks) sends its message and succeeds: only the database backend keeps a copy to blank."""

from __future__ import annotations

import pytest
from django.tasks import TaskResultStatus

from tests.conftest import Mailbox, SmsOutbox
from threshold.core import tasks


@pytest.mark.django_db
def test_the_immediate_backend_sends_mail_and_succeeds(mailbox: Mailbox) -> None:
    message = {
        "subject": "Hello",
        "body": "Once",
        "from_email": "no-reply@example.com",
        "to": ["ada@example.com"],
    }
    result = tasks.deliver_mail.enqueue(message=message, key="")
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert [m["Subject"] for m in mailbox.to("ada@example.com")] == ["Hello"]


@pytest.mark.django_db
def test_the_immediate_backend_sends_a_text_and_succeeds(sms: SmsOutbox) -> None:
    result = tasks.deliver_text.enqueue(to="+447700900123", body="Once", key="")
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert [body.strip() for body in sms.messages("+447700900123")] == ["Once"]
