"""``threshold serve``: the portal behind gunicorn, a production-grade WSGI server."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Serve the portal with gunicorn (checks the configuration first). Run `threshold worker` beside "
        "it: it sends the mail and text messages the portal queues."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("THRESHOLD_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("THRESHOLD_WORKERS", os.cpu_count() or 2))
        )
        # 32 threads, of which at most HASHING_CONCURRENCY + HASHING_QUEUE (1 + 24) serve sign-ins
        # (threshold.accounts.hashers), so pages find free threads during a sign-in flood.
        parser.add_argument("--threads", type=int, default=int(os.environ.get("THRESHOLD_THREADS", "32")))

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("check")
        if not _local_demo(options["host"]):
            # SECURITY: a production start with DEBUG, demo mode or plain http would show the
            # debug page, the outbox of codes or send cookies in the clear to whoever reaches it.
            problems = [
                message.msg
                for message in checks.run_checks(include_deployment_checks=True)
                if message.is_serious() and not message.is_silenced()
            ]
            if problems:
                raise CommandError(
                    "refusing to serve with settings that `threshold check --deploy` rejects: "
                    + " ".join(problems)
                    + " (Only a local demo runs so: THRESHOLD_DEMO=true, bound to loopback, with a loopback THRESHOLD_BASE_URL and no proxy.)"
                )
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            # gunicorn's module:attribute spelling of the WSGI_APPLICATION setting.
            ":".join(settings.WSGI_APPLICATION.rsplit(".", 1)),
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--worker-class",
            "gthread",
            "--timeout",
            "30",
            "--graceful-timeout",
            "10",
            "--keep-alive",
            "5",
            "--error-logfile",
            "-",
            "--forwarded-allow-ips",
            "",
        ]
        if os.environ.get("THRESHOLD_ACCESS_LOG"):
            # Without it gunicorn skips access logging altogether (logging to /dev/null still
            # formatted and wrote a line per request).
            argv += ["--access-logfile", "-"]
        self.stdout.write(f"Threshold is serving on http://{options['host']}:{options['port']}/", ending="\n")
        # SECURITY: mail and text messages wait in the database queue (settings.TASKS) until the
        # worker sends them; without it no code, link or security alert ever leaves.
        self.stdout.write("Mail and text messages are sent by `threshold worker`: run it beside this server.")
        self.stdout.flush()
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn


def _local_demo(host: str) -> bool:
    """Demo mode, bound to loopback and answering only loopback names, with no proxy in front."""
    if not settings.DEMO_MODE or settings.TRUSTED_PROXIES:
        return False
    return _is_loopback_name(host) and all(_is_loopback_name(name) for name in settings.ALLOWED_HOSTS)


def _is_loopback_name(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
