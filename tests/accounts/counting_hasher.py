"""A test-only password hasher: ours, counting how often it hashes."""

from __future__ import annotations

import threading
from typing import ClassVar

from threshold.accounts.hashers import BoundedArgon2idHasher


class CountingHasher(BoundedArgon2idHasher):
    """Set with ``settings.PASSWORD_HASHERS = [PATH]``; read ``calls`` after ``reset()``."""

    PATH = "tests.accounts.counting_hasher.CountingHasher"
    calls: ClassVar[dict[str, int]] = {"encode": 0, "verify": 0}
    _lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.calls = {"encode": 0, "verify": 0}

    @classmethod
    def total(cls) -> int:
        return cls.calls["encode"] + cls.calls["verify"]

    def encode(self, password: str, salt: str) -> str:
        with self._lock:
            self.calls["encode"] += 1
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with self._lock:
            self.calls["verify"] += 1
        return super().verify(password, encoded)
