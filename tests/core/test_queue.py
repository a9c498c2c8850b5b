"""Mail and text messages leave through the durable queue and ``threshold worker``, never inside a
request; a task a killed worker left behind is run again and sends nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMessage
from django.tasks import TaskResultStatus
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.conftest import Mailbox, SmsOutbox, make_user, run_worker
from threshold.accounts.models import VerificationCode
from threshold.activity.alerts import send_security_alert
from threshold.activity.models import SecurityEvent
from threshold.activity.services import record_event
from threshold.core.delivery import message_id
from threshold.core.management.commands.worker import reclaim_abandoned
from threshold.core.models import SentMessage
from threshold.core.outgoing import queue_mail, queue_text

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("queued_tasks")]

DELIVER_MAIL = "threshold.core.tasks.deliver_mail"


def ask_for_reset_code(email: str) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert client.post("/recover/password/", {"email": email}).status_code == 302
    sent = client.post("/recover/password/send/", {"way": "email", "email": email})
    assert sent.status_code == 302 and sent["Location"] == "/recover/password/code/"
    return client


def test_a_reset_request_sends_nothing_until_the_worker_runs(mailbox: Mailbox) -> None:
    user = make_user("ada@example.com")

    ask_for_reset_code(user.email)

    assert mailbox.messages == []
    assert not VerificationCode.objects.filter(user=user).exists()  # the worker issues it
    queued = DBTaskResult.objects.get()
    assert queued.status == TaskResultStatus.READY
    assert queued.task_path == "threshold.recovery.tasks.send_password_reset_code"

    assert run_worker() == 2  # the reset step, then the mail it queued

    assert len(mailbox.to(user.email)) == 1
    message = mailbox.to(user.email)[0]
    assert "Your code to reset your password" in str(message["Subject"])
    assert VerificationCode.objects.filter(user=user).count() == 1
    event = SecurityEvent.objects.get(user=user, code="account:password:reset:code_sent")
    assert event.ip == "203.0.113.9"  # the request's context, carried to the worker
    delivery = DBTaskResult.objects.get(task_path=DELIVER_MAIL)
    assert delivery.status == TaskResultStatus.SUCCESSFUL
    assert message["Message-ID"] == message_id(str(delivery.id))
    assert SentMessage.objects.filter(key=str(delivery.id), channel="mail").exists()
    # The code does not stay readable in the queue once it is sent.
    assert delivery.args_kwargs == {"args": [], "kwargs": {}}


def test_an_unknown_address_queues_a_task_that_sends_nothing(mailbox: Mailbox) -> None:
    make_user("ada@example.com")

    ask_for_reset_code("nobody@example.com")

    assert DBTaskResult.objects.get().task_path == "threshold.recovery.tasks.send_password_reset_code"
    assert run_worker() == 1
    assert mailbox.messages == []
    assert DBTaskResult.objects.get().return_value is False


def test_tasks_run_again_after_they_were_done_send_nothing_twice(mailbox: Mailbox) -> None:
    user = make_user("ada@example.com")
    ask_for_reset_code(user.email)
    run_worker()
    assert len(mailbox.messages) == 1

    # As if the worker had been killed after each task's work committed, before it was marked done.
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1)
    )
    assert run_worker() == 2

    assert len(mailbox.messages) == 1
    assert VerificationCode.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(user=user, code="account:password:reset:code_sent").count() == 1


def test_text_messages_wait_for_the_worker_too(sms: SmsOutbox) -> None:
    queue_text(to="+14255550123", body="123456 is your code")
    assert sms.messages() == []

    run_worker()

    assert sms.messages("+14255550123") == ["123456 is your code\n"]
    DBTaskResult.objects.update(status=TaskResultStatus.READY)
    run_worker()
    assert len(sms.messages()) == 1


def test_only_tasks_past_their_lease_are_put_back() -> None:
    queue_mail(EmailMessage("a", "b", "from@example.com", ["to@example.com"]))
    queue_mail(EmailMessage("c", "d", "from@example.com", ["to@example.com"]))
    old, recent = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=old.pk).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=11)
    )
    DBTaskResult.objects.filter(pk=recent.pk).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=9)
    )

    assert reclaim_abandoned(backend_name="default", lease_seconds=600) == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == TaskResultStatus.READY and recent.status == TaskResultStatus.RUNNING


# --- A real worker process, killed mid-task ----------------------------------------------------------


class StallingSink:
    """An SMTP server that holds its answer to the first recipient until released."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.messages: list[bytes] = []
        self.rcpts = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        self.rcpts += 1
        if self.rcpts == 1:
            self.stalled.set()
            while not self.release.is_set():  # the worker is killed meanwhile
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _threshold(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "threshold"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        **kwargs,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /proc")
def test_a_worker_killed_mid_send_leaves_a_task_the_next_worker_sends_once(tmp_path: Path) -> None:
    sink = StallingSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        THRESHOLD_VAR_DIR=str(tmp_path),
        THRESHOLD_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        _threshold(["migrate", "--verbosity", "0"], env)
        _threshold(
            [
                "shell",
                "--verbosity",
                "0",
                "-c",
                "from django.core.mail import EmailMessage; from threshold.core.outgoing import queue_mail; "
                "queue_mail(EmailMessage('Your code', '123456', 'no-reply@example.com', ['ada@example.com']))",
            ],
            env,
        )
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "threshold"),
                "worker",
                "--no-startup-delay",
                "--interval",
                "0.1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert sink.stalled.wait(60), "the worker never reached the mail server"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        sink.release.set()
        state = _threshold(
            [
                "shell",
                "--verbosity",
                "0",
                "-c",
                "from django_tasks_db.models import DBTaskResult; print(DBTaskResult.objects.get().status)",
            ],
            env,
        )
        assert state.stdout.strip() == "RUNNING"  # django-tasks-db alone would leave it so for ever
        assert sink.messages == []

        _threshold(["worker", "--batch", "--no-startup-delay", "--lease", "0"], env)
        _threshold(["worker", "--batch", "--no-startup-delay", "--lease", "0"], env)  # nothing left to do

        assert len(sink.messages) == 1
        result = _threshold(
            [
                "shell",
                "--verbosity",
                "0",
                "-c",
                "from django_tasks_db.models import DBTaskResult; t = DBTaskResult.objects.get(); "
                "print(t.status, len(t.worker_ids), t.id)",
            ],
            env,
        )
        status, attempts, task_id = result.stdout.split()
        assert (status, attempts) == ("SUCCESSFUL", "2")
        assert f"Message-ID: <{task_id}@".encode() in sink.messages[0]  # the same on every attempt
    finally:
        sink.release.set()
        if worker is not None and worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
        controller.stop()


def test_a_security_alert_produced_twice_is_mailed_once(mailbox: Mailbox) -> None:
    user = make_user("ada@example.com")
    event = record_event("account:password:change", user=user)  # queues its alert task on commit

    # As if that task ran again after its worker was killed: its messages carry the same keys.
    send_security_alert(event_id=event.pk)
    run_worker()
    send_security_alert(event_id=event.pk)
    run_worker()

    assert len(mailbox.to(user.email)) == 1


def test_the_worker_forgets_keys_of_messages_sent_long_ago() -> None:
    old = SentMessage.objects.create(key="old", channel="mail")
    recent = SentMessage.objects.create(key="recent", channel="mail")
    SentMessage.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=31))

    run_worker()

    assert list(SentMessage.objects.values_list("key", flat=True)) == [recent.key]
