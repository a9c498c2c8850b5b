"""A separate app process for the throttle tests: ``python -m tests.verification.throttle_worker``.

Arguments: EMAIL IP THREADS READY_DIR PROCESSES [MODE]. Once PROCESSES workers have announced
themselves in READY_DIR (so that slow start-ups cannot keep them apart), THREADS threads each
begin one sign-in attempt at once (MODE "sign-in"), or each take one use of a "1 per minute"
send limit keyed by EMAIL (MODE "send"); prints how many were allowed and refused as JSON.
With THREADS 0 it only prints the failure count this account has in the shared cache.
The cache is whatever the environment configures (THRESHOLD_REDIS_URL or the database).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threshold.config.settings")
    django.setup()
    from django.core.cache import cache
    from django.db import connections

    from threshold.verification import throttle

    email, ip, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ready_dir, processes = Path(sys.argv[4]), int(sys.argv[5])
    mode = sys.argv[6] if len(sys.argv) > 6 else "sign-in"
    if threads == 0:
        state = cache.get(throttle._account_key(email))
        print(json.dumps({"failures": state[0] if state else 0}))
        return

    go = threading.Event()
    verdicts: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        go.wait(timeout=60)
        if mode == "send":
            verdict = throttle.take([(email, 1, 60)]) == 0
        else:
            verdict = throttle.begin_attempt(email=email, ip=ip).allowed
        with lock:
            verdicts.append(verdict)
        connections.close_all()

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    (ready_dir / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(ready_dir.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.002)
    go.set()
    for worker in workers:
        worker.join()
    allowed = sum(verdicts)
    print(json.dumps({"allowed": allowed, "refused": len(verdicts) - allowed}))


if __name__ == "__main__":
    main()
