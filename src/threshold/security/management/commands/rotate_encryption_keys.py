from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from threshold.core.crypto import new_key
from threshold.security.key_rotation import reencrypt_authenticator_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored authenticator-app secret under the first key of THRESHOLD_ENCRYPTION_KEYS, "
        "in batches. Idempotent and safe to interrupt; run it after putting a new key first, then drop "
        "the old key. --new-key prints a fresh key and changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="Print a new random key to put first in the list, and stop.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(new_key())
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        done = reencrypt_authenticator_secrets(batch_size=options["batch_size"])
        self.stdout.write(
            f"Re-encrypted {done.rotated} authenticator-app secret(s) under the newest key; "
            f"{done.current} already were."
        )
        if done.unreadable:
            raise CommandError(
                f"{done.unreadable} secret(s) are sealed under a key that is not in THRESHOLD_ENCRYPTION_KEYS: "
                "add that key back (after the newest) and run this again before removing it."
            )
