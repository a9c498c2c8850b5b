"""Password hashing: Argon2id at the OWASP minimum or stronger, isolated from the rest of the portal."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher

T = TypeVar("T")


class HashingBusy(Exception):
    """Every hashing slot of this app process is taken and as many requests already wait for one.

    Answered with 503 and Retry-After (``threshold.accounts.middleware.HashingBusyMiddleware``)
    before any password is checked, so the answer says nothing about the password.
    """


def _lower_priority() -> None:
    """Run this hashing thread at a lower CPU priority than the request threads (Linux).

    On Linux a thread has its own nice value; an unprivileged process may raise it. Elsewhere,
    or where the call is refused, hashing keeps the normal priority.
    """
    step = settings.HASHING_NICENESS
    if step <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))


class HashingPool:
    """``slots`` hashing threads per app process, and room for ``queue`` more requests.

    A request is counted from ``admit()`` (before the sign-in view runs, so a turned-away attempt
    costs almost nothing) until ``leave()``; hashes on an admitted thread go straight to the
    threads. A hash on a thread that was not admitted (another view, a management command) is
    admitted for its own duration.
    """

    def __init__(self, slots: int, queue: int) -> None:
        self.pid = os.getpid()
        self.limit = slots + queue
        self.pending = 0
        self._lock = threading.Lock()
        self._admitted = threading.local()
        self._executor = ThreadPoolExecutor(
            max_workers=slots, thread_name_prefix="threshold-hashing", initializer=_lower_priority
        )

    @property
    def full(self) -> bool:
        return self.pending >= self.limit

    def admit(self) -> bool:
        """Counts this thread's request in, unless the slots and the queue are full."""
        with self._lock:
            if self.pending >= self.limit:
                return False
            self.pending += 1
        self._admitted.depth = getattr(self._admitted, "depth", 0) + 1
        return True

    def leave(self) -> None:
        self._admitted.depth -= 1
        with self._lock:
            self.pending -= 1

    def run(self, function: Callable[..., T], *args: Any) -> T:
        if getattr(self._admitted, "depth", 0) > 0:
            return self._executor.submit(function, *args).result()
        if not self.admit():
            raise HashingBusy
        try:
            return self._executor.submit(function, *args).result()
        finally:
            self.leave()


_pool: HashingPool | None = None
_pool_lock = threading.Lock()


def hashing_pool() -> HashingPool:
    """This process's pool (made on first use, so each forked app worker has its own)."""
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = HashingPool(settings.HASHING_CONCURRENCY, settings.HASHING_QUEUE)
            pool = _pool
    return pool


def normalize_password(password: str) -> str:
    """The password as it is hashed and checked: Unicode NFKC (NIST SP 800-63B-4 §3.1.1.2).

    SECURITY: the same password typed on two keyboards can arrive as different code points
    ("é" as one character, NFC, or as "e" and a combining accent, NFD, as some macOS and
    mobile keyboards send it); each must sign in. NFKC rather than NFC, because NIST names
    the compatibility forms (NFKC or NFKD) and because they also make full-width letters
    and digits (typed through East Asian input methods) and ligatures equal to the ordinary
    ones a person thinks they typed. The few distinct characters it merges (a full-width
    "A" and "A", "ﬁ" and "fi") cost a guesser's search space next to nothing.
    """
    return unicodedata.normalize("NFKC", password)


class BoundedArgon2idHasher(Argon2PasswordHasher):
    """Argon2id, m=19 MiB, t=2, p=1 (OWASP's minimum; RFC 9106's second recommended option
    needs 64 MiB, which four parallel sign-ins on a small server cannot afford).

    SECURITY/availability: hashes are computed on ``HASHING_CONCURRENCY`` dedicated threads per
    app process, at a lower CPU priority (``HASHING_NICENESS``) than the threads that serve
    pages, and at most ``HASHING_QUEUE`` further requests wait for one. A flood of sign-in
    attempts then takes neither every core nor every request thread from the rest of the
    portal: attempts beyond the queue are answered 503 at once, before any password is checked
    (bench/README.md, "Benchmarks"). The parameters, and so the cost of each guess, are unchanged.

    The password is normalised (``normalize_password``) before it is hashed. It is checked
    normalised and, if normalising changed it, exactly as typed too: a hash made before
    passwords were normalised, from a password that normalising changes, still matches
    (``User.check_password`` then makes it again, normalised). Every other hash made before
    is already a hash of the normalised password and stays as it is, so the change signs
    nobody out of their other sessions.

    SECURITY: a password that normalising changes costs two hashes, whatever the outcome:
    checking it tries both forms (never stopping at the first), and making a hash of it
    makes a throwaway one besides. A sign-in with an unknown email makes such a hash (of
    what was typed), so it takes as long as a wrong password for a real account; otherwise
    typing an accent in decomposed form would tell the two apart.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        normalized = normalize_password(password)
        if normalized != password:
            self._hash(password, salt)  # the throwaway: see the class's SECURITY note
        return self._hash(normalized, salt)

    def verify(self, password: str, encoded: str) -> bool:
        normalized = normalize_password(password)
        if normalized == password:
            return self.verify_exactly(password, encoded)
        as_normalized = self.verify_exactly(normalized, encoded)
        as_typed = self.verify_exactly(password, encoded)
        return as_normalized or as_typed

    def verify_exactly(self, password: str, encoded: str) -> bool:
        """Whether ``encoded`` is a hash of ``password`` exactly as given, not normalised."""
        return hashing_pool().run(super().verify, password, encoded)

    def _hash(self, password: str, salt: str) -> str:
        return hashing_pool().run(super().encode, password, salt)

    def harden_runtime(self, password: str, encoded: str) -> None:
        # The parameters are fixed per install; nothing to even out.
        return None

    def params(self) -> Any:
        return super().params()


def needs_normalizing(password: str, encoded: str) -> bool:
    """Whether ``encoded``, known to match ``password``, was made from it un-normalised.

    Costs a hash only when normalising changes the password (an accent typed decomposed,
    full-width letters): otherwise the two forms are one and the answer is no at once.
    """
    normalized = normalize_password(password)
    if normalized == password:
        return False
    try:
        hasher = identify_hasher(encoded)
    except ValueError:
        return False
    if not isinstance(hasher, BoundedArgon2idHasher):
        return False  # another algorithm's hash is made again by Django at this sign-in anyway
    return not hasher.verify_exactly(normalized, encoded)
