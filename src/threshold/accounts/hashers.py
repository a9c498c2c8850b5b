"""Password hashing: Argon2id at the OWASP minimum or stronger, with bounded concurrency."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


@cache
def _slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(settings.HASHING_CONCURRENCY)


class BoundedArgon2idHasher(Argon2PasswordHasher):
    """Argon2id, m=19 MiB, t=2, p=1 (OWASP's minimum; RFC 9106's second recommended option
    needs 64 MiB, which four parallel sign-ins on a small server cannot afford).

    SECURITY: each app process computes at most ``HASHING_CONCURRENCY`` hashes at once; the
    other threads wait for a slot. A flood of sign-in attempts then queues behind the
    hashing slots instead of taking every core away from the rest of the portal.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _slots():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _slots():
            return super().verify(password, encoded)

    def harden_runtime(self, password: str, encoded: str) -> None:
        # The parameters are fixed per install; nothing to even out.
        return None

    def params(self) -> Any:
        return super().params()
