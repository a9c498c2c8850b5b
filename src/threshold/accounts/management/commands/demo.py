"""``threshold demo``: load the demo data (idempotent) and print the sign-ins once."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from threshold.accounts.demo import load_demo


class Command(BaseCommand):
    help = "Create the demo accounts and organisation if they do not exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        sign_ins = load_demo()
        record = settings.VAR_DIR / "demo-sign-ins.txt"
        new = [s for s in sign_ins if s.password]
        if new:
            record.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as handle:
                for s in new:
                    handle.write(f"{s.email}\t{s.password}\t{s.role}\n")
        self.stdout.write("Demo sign-ins:")
        for s in sign_ins:
            secret = s.password or f"(created earlier; password in {record})"
            self.stdout.write(f"  {s.email:<32} {secret:<24} {s.role}")
