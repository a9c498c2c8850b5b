"""``threshold worker``: sends queued mail and text messages and runs the other background tasks.

django-tasks-db's own ``db_worker`` leaves a task marked RUNNING for ever when its worker is
killed (SIGKILL, a lost machine): nothing ever runs it again, and the code it was to send is
lost. This worker first puts such tasks back in the queue: a task RUNNING for longer than
TASK_LEASE_SECONDS is taken to belong to a dead worker. Every other option is db_worker's.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from threshold.core.models import SentMessage

logger = logging.getLogger("django_tasks_db")


def reclaim_abandoned(*, backend_name: str, lease_seconds: int) -> int:
    """Put tasks a dead worker left RUNNING back in the queue; how many were put back.

    One conditional UPDATE, so two workers reclaiming at once put each task back once. A task
    that is in fact still running past its lease is run a second time; mail and text messages
    are keyed (threshold.core.delivery), so that sends nothing twice.
    """
    cutoff = timezone.now() - timedelta(seconds=lease_seconds)
    reclaimed = (
        DBTaskResult.objects.running()
        .filter(backend_name=backend_name, started_at__lt=cutoff)
        .update(status=TaskResultStatus.READY, started_at=None)
    )
    if reclaimed:
        logger.warning("Put %d task(s) left running by a stopped worker back in the queue", reclaimed)
    return reclaimed


# A message's key is needed only while its task may still run again; kept well past any lease.
SENT_KEYS_KEPT = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600


def prune_sent_keys(*, now: datetime | None = None) -> int:
    """Forget the keys of messages sent long ago; how many were forgotten."""
    cutoff = (now or timezone.now()) - SENT_KEYS_KEPT
    deleted, _ = SentMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


class Worker(db_worker.Worker):
    """db_worker's loop, with abandoned tasks reclaimed before each look at the queue."""

    def __init__(self, *, batch: bool, lease_seconds: int, **kwargs: Any) -> None:
        super().__init__(batch=True, **kwargs)
        self.until_empty = batch
        self.lease_seconds = lease_seconds
        self.pruned_at = 0.0

    def run(self) -> None:
        while self.running:
            close_old_connections()
            reclaim_abandoned(backend_name=self.backend_name, lease_seconds=self.lease_seconds)
            if time.monotonic() - self.pruned_at > PRUNE_EVERY_SECONDS or not self.pruned_at:
                prune_sent_keys()
                self.pruned_at = time.monotonic()
            super().run()  # in batch mode: every ready task, then back here
            self.startup_delay = False
            done = self.max_tasks is not None and self._run_tasks >= self.max_tasks
            if self.until_empty or done:
                return
            time.sleep(self.interval)


class Command(db_worker.Command):
    help = "Send queued mail and text messages and run background tasks (reclaiming abandoned ones)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lease",
            type=int,
            default=None,
            help="Seconds after which a RUNNING task is taken to be abandoned (default: TASK_LEASE_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
            lease_seconds=settings.TASK_LEASE_SECONDS if options["lease"] is None else options["lease"],
        )
        # No autoreload: a reload stops a task half-way (db_worker's --reload is refused here).
        worker.configure_signals()
        worker.run()
