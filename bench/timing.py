"""Does a step that takes an email address answer a real account as fast as an unknown one?

``make bench`` runs it after bench/run.py (or ``.venv/bin/python bench/timing.py [--tries N] [--quick]``).
Against the same production-like server as bench/run.py (``threshold serve``, gunicorn, a fresh SQLite
file with seeded accounts) and with ``threshold worker`` running beside it as in production, each step
is asked about a real account and about an unknown address, alternately (known, unknown, unknown,
known, ...), each try from a new client with its own loopback address and session, so no limit is
reached and no try warms the next. Only the request that takes the address is timed (the pages
before it, for the CSRF token and the flow, are not). Reports the median time of each and their
difference; the target is under 2 ms. Writes bench/results/timing.json (``--quick``: timing-quick.json).
See bench/README.md, "Known and unknown accounts".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import CSRF_FIELD, BenchError, Browser, Response, loopback_sources_work, source_address
from server import BIN, ROOT, Server, machine_busy_seconds, own_cpu_seconds

RESULTS = ROOT / "bench" / "results"
TARGET_MS = 2.0
BLOCK = 120  # loopback addresses 127.120.x.y onwards: one per try
WRONG_PASSWORD = "not the password 1234"
NEW_PASSWORD = "a brand new passphrase for bench"
WRONG_PASS = "7KQM-3XPD-WN4T-HB2R"


class Tryer:
    """One try of a step: a new browser, the untimed pages before, then the timed request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.count = 0

    def browser(self) -> Browser:
        block, index = divmod(self.count, 250 * 250)
        self.count += 1
        return Browser(self.port, source=source_address(BLOCK + block, index))


async def token(browser: Browser, path: str) -> str:
    page = await browser.request("GET", path)
    match = CSRF_FIELD.search(page.body)
    if page.status != 200 or not match:
        raise BenchError(f"GET {path} answered {page.status} without a CSRF token")
    return match.group(1).decode()


async def post(browser: Browser, path: str, form: dict[str, str], csrf: str) -> Response:
    return await browser.request("POST", path, {"csrfmiddlewaretoken": csrf, **form})


# Each step: (browser, address, try number) -> the timed response. The address is a seeded
# account's or one that no account has; everything else is the same for both.
Step = Callable[[Browser, str, int], Awaitable[Response]]


async def sign_in(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/accounts/login/")
    return await post(b, "/accounts/login/", {"login": email, "password": WRONG_PASSWORD}, csrf)


async def sign_up(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/accounts/signup/")
    form = {"email": email, "password1": NEW_PASSWORD, "given_name": "Bench", "family_name": "Timing"}
    return await post(b, "/accounts/signup/", form, csrf)


async def resend(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/accounts/signup/")
    form = {"email": email, "password1": NEW_PASSWORD, "given_name": "Bench", "family_name": "Timing"}
    signed_up = await post(b, "/accounts/signup/", form, csrf)
    if signed_up.status != 302:
        raise BenchError(f"sign-up before the resend answered {signed_up.status}")
    csrf = await token(b, "/accounts/confirm-email/")
    return await post(b, "/accounts/confirm-email/", {"action": "resend"}, csrf)


async def reset(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/recover/password/")
    started = await post(b, "/recover/password/", {"email": email}, csrf)
    if started.status != 302:
        raise BenchError(f"the reset's first step answered {started.status}")
    return await post(b, "/recover/password/send/", {"way": "email", "email": email}, csrf)


async def recovery(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/recover/second-method/")
    started = await post(b, "/recover/second-method/", {"account_email": email}, csrf)
    if started.status != 302:
        raise BenchError(f"account recovery's first step answered {started.status}")
    return await post(b, "/recover/second-method/email/", {"action": "send", "address": email}, csrf)


async def recovery_request(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/recover/request/")
    form = {"account_email": email, "contact_email": f"reach-{secrets.token_hex(6)}@bench.invalid"}
    return await post(b, "/recover/request/", form, csrf)


async def access_pass(b: Browser, email: str, i: int) -> Response:
    csrf = await token(b, "/recover/access-pass/")
    return await post(b, "/recover/access-pass/", {"email": email, "access_pass": WRONG_PASS}, csrf)


STEPS: dict[str, Step] = {
    "sign-in": sign_in,
    "sign-up": sign_up,
    "resend": resend,
    "reset": reset,
    "account recovery": recovery,
    "recovery request": recovery_request,
    "access pass": access_pass,
}


def median_ms(values: list[float]) -> float | None:
    return statistics.median(values) * 1000 if values else None


async def measure_step(name: str, step: Step, tryer: Tryer, tries: int, first_account: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    statuses: dict[str, dict[str, int]] = {"known": {}, "unknown": {}}
    errors: dict[str, int] = {"known": 0, "unknown": 0}
    busy0, own0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    for i in range(tries):
        # known, unknown, unknown, known, ...: neither side always goes first
        order = ("known", "unknown") if i % 2 == 0 else ("unknown", "known")
        for side in order:
            email = (
                f"bench-{first_account + i:05d}@bench.invalid"
                if side == "known"
                else f"nobody-{secrets.token_hex(6)}@bench.invalid"
            )
            browser = tryer.browser()
            try:
                response = await step(browser, email, i)
            except (BenchError, OSError, TimeoutError, asyncio.IncompleteReadError):
                errors[side] += 1
                continue
            finally:
                await browser.close()
            times[side].append(response.seconds)
            key = str(response.status)
            statuses[side][key] = statuses[side].get(key, 0) + 1
    seconds = time.perf_counter() - t0
    known, unknown = median_ms(times["known"]), median_ms(times["unknown"])
    difference = known - unknown if known is not None and unknown is not None else None
    return {
        "step": name,
        "tries": tries,
        "known_median_ms": known,
        "unknown_median_ms": unknown,
        "difference_ms": difference,
        "met": difference is not None and abs(difference) < TARGET_MS,
        "same_answers": statuses["known"] == statuses["unknown"],
        "statuses": statuses,
        "errors": errors,
        "other_cores": max(0.0, machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)) / seconds,
        "seconds": seconds,
    }


def start_worker(server: Server) -> subprocess.Popen[bytes]:
    log = open(server.var_dir / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [str(BIN / "threshold"), "worker", "--no-startup-delay", "--interval", "0.2"],
        env=server.env(),
        cwd=server.var_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def table(rows: list[dict[str, Any]]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [f"{'Step':<18} {'tries':>6} {'known ms':>9} {'unknown ms':>11} {'diff ms':>8}  under 2 ms"]
    for r in rows:
        met = "yes" if r["met"] else "NO"
        if not r["same_answers"]:
            met += " (answers differ)"
        lines.append(
            f"{r['step']:<18} {r['tries']:>6} {ms(r['known_median_ms']):>9} {ms(r['unknown_median_ms']):>11} "
            f"{ms(r['difference_ms']):>8}  {met}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--tries", type=int, default=200, help="tries per step and side (default 200)")
    parser.add_argument("--quick", action="store_true", help="5 tries per step: checks the harness only")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps (default: all)")
    parser.add_argument("--out", type=Path, help="where to write the JSON")
    args = parser.parse_args()
    tries = 5 if args.quick else args.tries
    names = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown_steps = [n for n in names if n not in STEPS]
    if unknown_steps:
        parser.error(f"unknown steps: {unknown_steps}; choose from {list(STEPS)}")
    out = args.out or RESULTS / ("timing-quick.json" if args.quick else "timing.json")
    if not loopback_sources_work():
        print("This benchmark needs to bind client sockets to 127.x.y.z (Linux does by default).")
        return 2

    began = time.perf_counter()
    accounts = tries * len(names) + 10
    results: dict[str, Any] = {
        "kind": "quick" if args.quick else "full",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target_ms": TARGET_MS,
        "cores": len(os.sched_getaffinity(0)),
        "load_average_before": os.getloadavg(),
    }
    with Server(accounts=accounts, password="bench " + secrets.token_urlsafe(12)) as server:
        print(f"Preparing {accounts} accounts in {server.var_dir} ...", flush=True)
        server.prepare()
        server.start()
        worker = start_worker(server)
        try:
            tryer = Tryer(server.port)
            rows = []
            for n, name in enumerate(names):
                print(f"{name}: {tries} tries each for a real account and an unknown address ...", flush=True)
                rows.append(
                    asyncio.run(measure_step(name, STEPS[name], tryer, tries, first_account=n * tries))
                )
            results["steps"] = rows
            results["server_log_tail"] = server.log_tail(10)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
    results["wall_seconds"] = time.perf_counter() - began
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(table(results["steps"]))
    print(f"\nRun in {results['wall_seconds']:.0f} s; JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
