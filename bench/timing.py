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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Step:
    """The untimed pages before (they fetch the CSRF token and start the flow), then the timed request.

    ``settle`` > 0: every try's preparation runs first, then the timed requests after that many
    seconds (a resend is refused for 10 s after the code it replaces).
    """

    prepare: Callable[[Browser, str], Awaitable[dict[str, str]]]
    timed: Callable[[Browser, str, dict[str, str]], Awaitable[Response]]
    settle: float = 0.0


async def page(b: Browser, path: str) -> dict[str, str]:
    return {"csrf": await token(b, path)}


async def started(b: Browser, path: str, form: dict[str, str]) -> dict[str, str]:
    state = await page(b, path)
    response = await post(b, path, form, state["csrf"])
    if response.status != 302:
        raise BenchError(f"POST {path} answered {response.status}")
    return state


def signup_form(email: str) -> dict[str, str]:
    return {"email": email, "password1": NEW_PASSWORD, "given_name": "Bench", "family_name": "Timing"}


STEPS: dict[str, Step] = {
    "sign-in": Step(
        lambda b, e: page(b, "/accounts/login/"),
        lambda b, e, s: post(b, "/accounts/login/", {"login": e, "password": WRONG_PASSWORD}, s["csrf"]),
    ),
    "sign-up": Step(
        lambda b, e: page(b, "/accounts/signup/"),
        lambda b, e, s: post(b, "/accounts/signup/", signup_form(e), s["csrf"]),
    ),
    "resend": Step(
        lambda b, e: started(b, "/accounts/signup/", signup_form(e)),
        lambda b, e, s: post(b, "/accounts/confirm-email/", {"action": "resend"}, s["csrf"]),
        settle=11.0,
    ),
    "reset": Step(
        lambda b, e: started(b, "/recover/password/", {"email": e}),
        lambda b, e, s: post(b, "/recover/password/send/", {"way": "email", "email": e}, s["csrf"]),
    ),
    "account recovery": Step(
        lambda b, e: started(b, "/recover/second-method/", {"account_email": e}),
        lambda b, e, s: post(b, "/recover/second-method/email/", {"action": "send", "address": e}, s["csrf"]),
    ),
    "recovery request": Step(
        lambda b, e: page(b, "/recover/request/"),
        lambda b, e, s: post(
            b,
            "/recover/request/",
            {"account_email": e, "contact_email": f"reach-{secrets.token_hex(6)}@bench.invalid"},
            s["csrf"],
        ),
    ),
    "access pass": Step(
        lambda b, e: page(b, "/recover/access-pass/"),
        lambda b, e, s: post(b, "/recover/access-pass/", {"email": e, "access_pass": WRONG_PASS}, s["csrf"]),
    ),
}


def median_ms(values: list[float]) -> float | None:
    return statistics.median(values) * 1000 if values else None


async def measure_step(name: str, step: Step, tryer: Tryer, tries: int, first_account: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    by_try: dict[int, dict[str, float]] = {}
    statuses: dict[str, dict[str, int]] = {"known": {}, "unknown": {}}
    errors: dict[str, int] = {"known": 0, "unknown": 0}
    plan = []
    for i in range(tries):
        # known, unknown, unknown, known, ...: neither side always goes first
        for side in ("known", "unknown") if i % 2 == 0 else ("unknown", "known"):
            email = (
                f"bench-{first_account + i:05d}@bench.invalid"
                if side == "known"
                else f"nobody-{secrets.token_hex(6)}@bench.invalid"
            )
            plan.append((i, side, email, tryer.browser()))

    async def prepare(i: int, side: str, email: str, browser: Browser) -> dict[str, str] | None:
        try:
            return await step.prepare(browser, email)
        except (BenchError, OSError, TimeoutError, asyncio.IncompleteReadError):
            errors[side] += 1
            await browser.close()
            return None

    async def timed(i: int, side: str, email: str, browser: Browser, state: dict[str, str]) -> None:
        try:
            response = await step.timed(browser, email, state)
        except (BenchError, OSError, TimeoutError, asyncio.IncompleteReadError):
            errors[side] += 1
            return
        finally:
            await browser.close()
        times[side].append(response.seconds)
        by_try.setdefault(i, {})[side] = response.seconds
        statuses[side][str(response.status)] = statuses[side].get(str(response.status), 0) + 1

    busy0, own0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    if step.settle:
        states = [await prepare(*entry) for entry in plan]
        await asyncio.sleep(step.settle)
        for entry, state in zip(plan, states, strict=True):
            if state is not None:
                await timed(*entry, state)
    else:
        for entry in plan:
            state = await prepare(*entry)
            if state is not None:
                await timed(*entry, state)
    seconds = time.perf_counter() - t0
    known, unknown = median_ms(times["known"]), median_ms(times["unknown"])
    difference = known - unknown if known is not None and unknown is not None else None
    # Each try's known and unknown requests ran next to each other: the median of their differences
    # is less moved by whatever else slowed the machine down meanwhile.
    pairs = [p["known"] - p["unknown"] for p in by_try.values() if len(p) == 2]
    return {
        "step": name,
        "tries": tries,
        "known_median_ms": known,
        "unknown_median_ms": unknown,
        "difference_ms": difference,
        "paired_median_difference_ms": median_ms(pairs),
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

    lines = [
        f"{'Step':<18} {'tries':>6} {'known ms':>9} {'unknown ms':>11} {'diff ms':>8} {'paired ms':>10}  under 2 ms"
    ]
    for r in rows:
        met = "yes" if r["met"] else "NO"
        if not r["same_answers"]:
            met += " (answers differ)"
        lines.append(
            f"{r['step']:<18} {r['tries']:>6} {ms(r['known_median_ms']):>9} {ms(r['unknown_median_ms']):>11} "
            f"{ms(r['difference_ms']):>8} {ms(r['paired_median_difference_ms']):>10}  {met}"
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
