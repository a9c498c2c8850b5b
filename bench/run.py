"""Threshold's benchmark: ``make bench`` (or ``.venv/bin/python bench/run.py [--quick]``).

Every figure comes from one run on the same cores: (a) raw Argon2id verifications per second,
(b) end-to-end password sign-ins per second through ``threshold serve`` (gunicorn), (c) the signed-in
Overview at rising concurrency, (d) the Overview while sign-in is flooded. Prints a table of targets and
writes JSON (``bench/results/latest.json``; ``--quick`` writes ``bench/results/quick.json``).
See bench/README.md for the method and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hashrate
import load
from httpclient import loopback_sources_work
from server import ROOT, Server, machine_busy_seconds, own_cpu_seconds

RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    rounds: int  # (a)+(b), the levels of (c), and (d)'s two conditions alternate this many times
    accounts: int
    hash_seconds: float
    sign_in_clients: int
    sign_in_warmup: float
    sign_in_seconds: float
    levels: tuple[int, ...]
    overview_warmup: float
    overview_seconds: float
    probe_clients: int
    probe_interval: float
    probe_seconds: float
    flood_factor: float
    flood_clients: int
    flood_warmup: float


FULL = Plan(
    rounds=3,
    accounts=16000,
    hash_seconds=4,
    sign_in_clients=8,
    sign_in_warmup=2,
    sign_in_seconds=6,
    levels=(1, 10, 50),
    overview_warmup=1.5,
    overview_seconds=5,
    probe_clients=5,
    probe_interval=0.1,
    probe_seconds=5,
    flood_factor=2.0,
    flood_clients=64,
    flood_warmup=2,
)
QUICK = Plan(
    rounds=1,
    accounts=700,
    hash_seconds=0.5,
    sign_in_clients=4,
    sign_in_warmup=0.2,
    sign_in_seconds=1,
    levels=(1, 3, 6),
    overview_warmup=0.2,
    overview_seconds=0.6,
    probe_clients=2,
    probe_interval=0.05,
    probe_seconds=0.6,
    flood_factor=2.0,
    flood_clients=16,
    flood_warmup=0.3,
)
SESSION_ACCOUNTS = 100  # accounts 0..99 hold the signed-in browsers of (c) and (d)


def versions() -> dict[str, str]:
    found = {}
    for name in ("Django", "django-allauth", "argon2-cffi", "argon2-cffi-bindings", "gunicorn"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "?"
    return found


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "src"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
        )
    except OSError:
        commit, dirty = "", False
    return {
        "cores": hashrate.cores(),
        "cpu": model,
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
        "commit": commit + ("+changes" if dirty else ""),
        "versions": versions(),
    }


def server_config(server: Server) -> dict[str, Any]:
    """How the server under test actually runs: gunicorn's command line and Django's settings."""
    try:
        argv = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().decode().split("\0")  # type: ignore[union-attr]
    except OSError:
        argv = []
    options = {argv[i][2:]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    return {
        "server": "threshold serve (gunicorn)",
        "worker_class": options.get("worker-class"),
        "workers": int(options.get("workers", 0)),
        "threads": int(options.get("threads", 0)),
        "worker_processes_seen": len(server.workers()),
        "database": "SQLite file in a temporary THRESHOLD_VAR_DIR",
        **server.seed.get("settings", {}),
    }


def say(message: str) -> None:
    print(message, flush=True)


def other_cores(seconds: float) -> float:
    busy0, own0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return max(0.0, machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)) / (time.perf_counter() - t0)


def wait_for_quiet(limit: float, longest: float) -> dict[str, float]:
    """Other people's processes may share these cores. Wait (at most ``longest`` seconds) until they
    use less than ``limit`` cores; what they used during each phase is reported either way."""
    started = time.perf_counter()
    other = other_cores(1.0)
    while other > limit and time.perf_counter() - started < longest:
        other = other_cores(1.0)
    return {"waited_seconds": time.perf_counter() - started, "other_cores_at_start": other}


def pool_hash(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sum(r["seconds"] for r in runs)
    return {
        "processes": runs[0]["processes"],
        "seconds": seconds,
        "verifications": sum(r["verifications"] for r in runs),
        "per_second": sum(r["per_second"] * r["seconds"] for r in runs) / seconds,
        "ms_per_verify_per_core": sum(r["ms_per_verify_per_core"] * r["seconds"] for r in runs) / seconds,
        "cpu_ms_per_verify": sum(r["cpu_ms_per_verify"] * r["verifications"] for r in runs)
        / max(1, sum(r["verifications"] for r in runs)),
        "other_cores": sum(r["other_cores"] * r["seconds"] for r in runs) / seconds,
        "rounds": [{k: r[k] for k in ("per_second", "other_cores")} for r in runs],
    }


async def measure(server: Server, plan: Plan, encoded: str, password: str) -> dict[str, Any]:
    """Every figure, in ``plan.rounds`` interleaved rounds, so that whatever else runs on the machine
    weighs on the compared figures alike: (a) then (b); the levels of (c) in turn; (d) without,
    then with the flood."""
    results: dict[str, Any] = {}
    sign_in_accounts = (plan.accounts - SESSION_ACCOUNTS) // 2
    flood_first = SESSION_ACCOUNTS + sign_in_accounts
    flood_accounts = (plan.accounts - flood_first) // plan.rounds
    next_account = SESSION_ACCOUNTS
    hash_runs, sign_in_runs = [], []
    for r in range(plan.rounds):
        say(f"[{r + 1}/{plan.rounds}] (a) raw Argon2id verifications, {hashrate.cores()} processes ...")
        hash_runs.append(hashrate.measure(encoded, password, seconds=plan.hash_seconds))
        say(f"[{r + 1}/{plan.rounds}] (b) sign-ins through the server, {plan.sign_in_clients} clients ...")
        run = await load.sign_ins(
            server,
            clients=plan.sign_in_clients,
            warmup=plan.sign_in_warmup,
            seconds=plan.sign_in_seconds,
            first_account=next_account,
            max_accounts=SESSION_ACCOUNTS + sign_in_accounts - next_account,
        )
        next_account += run["accounts_used"]
        sign_in_runs.append(run)
    results["hash"] = pool_hash(hash_runs)
    results["sign_in"] = load.pool(sign_in_runs)
    results["sign_in"]["ratio_to_raw"] = results["sign_in"]["per_second"] / results["hash"]["per_second"]
    # What the ratio would be if the server had the cores to itself: CPU time of one raw verification
    # against the server's CPU time per sign-in (both measured in this run).
    results["sign_in"]["cpu_ratio_to_raw"] = (
        results["hash"]["cpu_ms_per_verify"] / results["sign_in"]["server_cpu_ms_per_sign_in"]
    )
    for run, raw in zip(results["sign_in"]["rounds"], hash_runs, strict=True):
        run["ratio_to_raw"] = run["per_second"] / raw["per_second"]

    top = max(plan.levels)
    browsers = await load.signed_in_browsers(server, top, 0, load.BLOCK_SESSIONS)
    levels: dict[int, list[dict[str, Any]]] = {level: [] for level in plan.levels}
    for r in range(plan.rounds):
        for level in plan.levels:
            say(f"[{r + 1}/{plan.rounds}] (c) Overview, {level} concurrent signed-in clients ...")
            levels[level].append(
                await load.overview(
                    server, browsers[:level], warmup=plan.overview_warmup, seconds=plan.overview_seconds
                )
            )
    results["overview"] = {str(level): load.pool(runs) for level, runs in levels.items()}
    for browser in browsers:
        await browser.close()

    probes = await load.signed_in_browsers(server, plan.probe_clients, top, load.BLOCK_SESSIONS + 1)
    rate = plan.flood_factor * results["hash"]["per_second"]
    unloaded, flooded, floods = [], [], []
    for r in range(plan.rounds):
        say(f"[{r + 1}/{plan.rounds}] (d) Overview probe alone ...")
        unloaded.append(
            await load.paced_overview(
                server,
                probes,
                interval=plan.probe_interval,
                warmup=plan.overview_warmup,
                seconds=plan.probe_seconds,
            )
        )
        flood = load.Flood(
            server,
            rate=rate,
            clients=plan.flood_clients,
            first_account=flood_first + r * flood_accounts,
            accounts=flood_accounts,
        )
        say(
            f"[{r + 1}/{plan.rounds}] (d) Overview probe while {plan.flood_clients} clients flood sign-in "
            f"at {rate:.0f} attempts/s (wrong passwords) ..."
        )
        flood_task = asyncio.create_task(flood.run())
        flooded.append(
            await load.paced_overview(
                server,
                probes,
                interval=plan.probe_interval,
                warmup=plan.flood_warmup,
                seconds=plan.probe_seconds,
            )
        )
        flood.stop.set()
        await flood_task
        floods.append(flood.report())
    for browser in probes:
        await browser.close()
    results["isolation"] = {
        "unloaded": load.pool(unloaded),
        "flooded": load.pool(flooded),
        "flood": load.pool_floods(floods),
    }
    iso = results["isolation"]
    iso["p95_ratio"] = (iso["flooded"]["p95_ms"] or 0) / (iso["unloaded"]["p95_ms"] or float("inf"))
    return results


def targets(results: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    found = []

    def add(name: str, target: str, measured: str, met: bool | None) -> None:
        found.append({"figure": name, "target": target, "measured": measured, "met": met})

    raw = results["hash"]["per_second"]
    add("(a) raw Argon2id verifies/s, all cores", "-", f"{raw:.1f}/s", None)
    b = results["sign_in"]
    per_round = ", ".join(f"{r['ratio_to_raw']:.2f}" for r in b["rounds"])
    add(
        "(b) password sign-ins/s through gunicorn",
        ">= 0.9 x (a)",
        f"{b['per_second']:.1f}/s = {b['ratio_to_raw']:.2f} x (a) (rounds: {per_round})",
        b["ratio_to_raw"] >= 0.9 and b["errors"] == 0,
    )
    levels = results["overview"]
    for level in plan.levels:
        o = levels[str(level)]
        add(
            f"(c) Overview at {level}: req/s, p50, p95",
            "-",
            f"{o['per_second']:.0f}/s, {o['p50_ms']:.1f} ms, {o['p95_ms']:.1f} ms",
            None,
        )
    top = levels[str(max(plan.levels))]
    best_lower = max(levels[str(level)]["per_second"] for level in plan.levels[:-1])
    n = max(plan.levels)
    add(f"(c) Overview p95 at {n}", "<= 100 ms", f"{top['p95_ms']:.1f} ms", top["p95_ms"] <= 100)
    add(
        f"(c) Overview p95 / p50 at {n}",
        "<= 2",
        f"{top['p95_ms'] / top['p50_ms']:.2f}",
        top["p95_ms"] <= 2 * top["p50_ms"],
    )
    add(
        f"(c) Overview req/s at {n} / best lower",
        ">= 0.9",
        f"{top['per_second'] / best_lower:.2f} ({top['per_second']:.0f} / {best_lower:.0f})",
        top["per_second"] >= 0.9 * best_lower and top["errors"] == 0,
    )
    iso = results["isolation"]
    add(
        "(d) Overview p95 flooded / unloaded",
        "<= 2",
        f"{iso['p95_ratio']:.2f} ({iso['flooded']['p95_ms']:.1f} / {iso['unloaded']['p95_ms']:.1f} ms)",
        iso["p95_ratio"] <= 2 and iso["flooded"]["errors"] == 0,
    )
    return found


def table(rows: list[dict[str, Any]]) -> str:
    head = ("Figure", "Target", "Measured", "Met")
    cells = [
        (r["figure"], r["target"], r["measured"], "-" if r["met"] is None else ("yes" if r["met"] else "NO"))
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*head), line.format(*("-" * w for w in widths))]
    out += [line.format(*c) for c in cells]
    return "\n".join(out)


def notes(results: dict[str, Any]) -> str:
    b = results["sign_in"]
    iso = results["isolation"]
    flood = iso["flood"]
    lines = [
        f"CPU time: one raw verification {results['hash']['cpu_ms_per_verify']:.1f} ms; one sign-in "
        f"{b['server_cpu_ms_per_sign_in']:.1f} ms of server CPU, so (b)/(a) could reach at most "
        f"{b['cpu_ratio_to_raw']:.2f} with the cores to itself.",
        f"(d) p50 flooded / unloaded: {iso['flooded']['p50_ms']:.1f} / {iso['unloaded']['p50_ms']:.1f} ms.",
        f"Client CPU (this load generator, same cores): sign-ins {b['client_cores']:.2f} cores, "
        + ", ".join(f"Overview at {k} {v['client_cores']:.2f}" for k, v in results["overview"].items())
        + f", flood {iso['flooded']['client_cores']:.2f}; "
        f"server CPU during sign-ins {b['server_cores']:.2f} cores "
        f"({b['server_cpu_ms_per_sign_in']:.1f} ms per sign-in), during the Overview at "
        + ", ".join(f"{k}: {v['server_cpu_ms_per_request']:.1f} ms" for k, v in results["overview"].items())
        + " per request.",
        f"Other processes on the machine (cores): (a) {results['hash']['other_cores']:.2f}, "
        + ", ".join(f"{name} {phase.get('other_cores', 0):.2f}" for name, phase in _phases(results))
        + ".",
        f"Flood: offered {flood['offered_per_second']:.0f}/s, sent {flood['sent_per_second']:.0f}/s, "
        f"answered {flood['answered_per_second']:.0f}/s ({flood['statuses']}), "
        f"p50 {flood['latency']['p50_ms'] or 0:.0f} ms; errors {flood['errors']}.",
    ]
    errors = [(k, v) for k, v in _phases(results) if v.get("errors")]
    if errors:
        lines.append(
            "Errors: " + "; ".join(f"{k}: {v['errors']} {v['error_samples'][:2]}" for k, v in errors)
        )
    return "\n".join(lines)


def _phases(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    phases = [("sign_in", results["sign_in"])]
    phases += [(f"overview@{k}", v) for k, v in results["overview"].items()]
    phases += [(f"isolation.{k}", results["isolation"][k]) for k in ("unloaded", "flooded")]
    return phases


def harness_ok(results: dict[str, Any]) -> list[str]:
    """Problems that mean the measurement itself is broken (not a missed target)."""
    problems = []
    for name, phase in _phases(results):
        count = phase.get("sign_ins", phase.get("requests", 0))
        if count == 0:
            problems.append(f"{name}: nothing completed")
        elif phase["errors"] > 0.05 * count:
            problems.append(f"{name}: {phase['errors']} errors for {count} completed")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the harness, not speed")
    parser.add_argument("--out", type=Path, help="where to write the JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (server log)")
    parser.add_argument(
        "--noise-limit",
        type=float,
        default=0.25,
        help="wait (at most 30 s) at the start until other processes use fewer cores (default 0.25)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    if not loopback_sources_work():
        say("This benchmark needs to bind client sockets to 127.x.y.z (Linux does by default).")
        return 2

    began = time.perf_counter()
    password = "bench " + secrets.token_urlsafe(12)
    results: dict[str, Any] = {
        "kind": "quick" if args.quick else "full",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "plan": asdict(plan),
    }
    with Server(accounts=plan.accounts, password=password, keep=args.keep) as server:
        say(f"Preparing a fresh SQLite database with {plan.accounts} accounts in {server.var_dir} ...")
        seed = server.prepare()
        results["argon2"] = seed["argon2"]
        results["setup"] = {k: seed[k] for k in ("migrate_seconds", "seed_seconds")}
        say(f"Starting threshold serve on {server.base_url} ...")
        server.start()
        results["config"] = server_config(server)
        if not args.quick:
            say("Waiting (at most 30 s) until other processes leave the cores mostly idle ...")
            results["quiet"] = wait_for_quiet(args.noise_limit, 30)
        try:
            results.update(asyncio.run(measure(server, plan, seed["encoded"], password)))
        except Exception:
            say("The server's log ends with:\n" + server.log_tail())
            raise
        results["server_log_tail"] = server.log_tail(10)

    results["targets"] = targets(results, plan)
    results["wall_seconds"] = time.perf_counter() - began
    results["problems"] = harness_ok(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    say("")
    say(table(results["targets"]))
    say("")
    say(notes(results))
    say(f"\n{results['kind'].capitalize()} run in {results['wall_seconds']:.0f} s; JSON: {out}")
    if results["problems"]:
        say("THE HARNESS ITSELF FAILED: " + "; ".join(results["problems"]))
        return 2
    if args.strict and any(t["met"] is False for t in results["targets"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
