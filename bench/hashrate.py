"""(a) Raw Argon2id verifications per second on all cores: one process per core, each verifying the
same encoded hash the server stores, in a loop bounded by time and by count."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from typing import Any

from server import machine_busy_seconds


def _worker(
    encoded: str, password: str, seconds: float, max_count: int, ready: Any, start: Any, out: Any
) -> None:
    from argon2 import PasswordHasher

    hasher = PasswordHasher()  # verify() reads the parameters from the encoded hash itself
    encoded = encoded.removeprefix("argon2")  # Django's "argon2$argon2id$v=19$m=...,t=...,p=...$..."
    hasher.verify(encoded, password)  # warm up (imports, first allocation of the 19 MiB block)
    ready.put(os.getpid())
    if not start.wait(timeout=60):
        return
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    count = 0
    while count < max_count and time.perf_counter() < deadline:
        hasher.verify(encoded, password)
        count += 1
    elapsed = time.perf_counter() - t0
    out.put((count, elapsed, time.process_time() - cpu0))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def measure(encoded: str, password: str, *, seconds: float, processes: int | None = None) -> dict[str, Any]:
    """Verifications per second summed over ``processes`` (default: one per usable core)."""
    n = processes or cores()
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    start = ctx.Event()
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker, args=(encoded, password, seconds, 100_000, ready, start, out), daemon=True
        )
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    waiting, deadline = len(procs), time.monotonic() + 60
    while waiting:  # every worker has started and verified once before the clock starts
        try:
            ready.get(timeout=0.2)
            waiting -= 1
        except queue.Empty:
            if time.monotonic() > deadline or any(p.exitcode not in (None, 0) for p in procs):
                for p in procs:
                    p.kill()
                raise RuntimeError("a hashing process failed to start") from None
    busy0 = machine_busy_seconds()
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    wall = time.perf_counter() - t0
    other = max(0.0, machine_busy_seconds() - busy0 - sum(r[2] for r in results)) / wall
    rate = sum(count / elapsed for count, elapsed, _cpu in results)
    return {
        "processes": n,
        "seconds": seconds,
        "verifications": sum(r[0] for r in results),
        "per_second": rate,
        "ms_per_verify_per_core": 1000 * n / rate if rate else None,
        # CPU time per verification: unlike the rate, hardly affected by other processes' time slices.
        "cpu_ms_per_verify": 1000 * sum(r[2] for r in results) / max(1, sum(r[0] for r in results)),
        "cpu_share": sum(r[2] for r in results) / sum(r[1] for r in results),
        "other_cores": other,
    }
