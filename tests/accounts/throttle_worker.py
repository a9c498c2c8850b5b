"""A separate app process for the throttle tests: ``python -m tests.accounts.throttle_worker``.

Arguments: EMAIL IP THREADS START_AT. At wall-clock time START_AT, THREADS threads each
begin one sign-in attempt at once; prints how many were allowed and refused as JSON.
The cache is whatever the environment configures (THRESHOLD_REDIS_URL or the database).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threshold.config.settings")
    django.setup()
    from django.db import connections

    from threshold.accounts import throttle

    email, ip, threads, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    verdicts: list[throttle.Verdict] = []
    lock = threading.Lock()

    def attempt() -> None:
        time.sleep(max(0.0, start_at - time.time()))
        verdict = throttle.begin_attempt(email=email, ip=ip)
        with lock:
            verdicts.append(verdict)
        connections.close_all()

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    allowed = sum(v.allowed for v in verdicts)
    print(json.dumps({"allowed": allowed, "refused": len(verdicts) - allowed}))


if __name__ == "__main__":
    main()
