"""The load shapes of the benchmark, each bounded in time and in count."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from httpclient import BenchError, Browser, source_address
from server import Server, machine_busy_seconds, own_cpu_seconds

# Loopback blocks (127.<block>.x.y) so that no two kinds of client share an address.
BLOCK_SESSIONS = 1  # signed-in browsers that load the Overview
BLOCK_SIGN_IN = 10  # one address per benchmarked sign-in: blocks 10..49
BLOCK_FLOOD = 50  # one address per 15 flood attempts: blocks 50..99
PER_BLOCK = 250 * 250


def address(first_block: int, index: int, blocks: int = 40) -> str:
    block, rest = divmod(index, PER_BLOCK)
    if block >= blocks:
        raise ValueError(f"more than {blocks * PER_BLOCK} addresses in one range")
    return source_address(first_block + block, rest)


def summarise(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    ordered = sorted(latencies)
    if len(ordered) == 1:
        cuts = [ordered[0]] * 99
    else:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": 1000 * cuts[49],
        "p95_ms": 1000 * cuts[94],
        "p99_ms": 1000 * cuts[98],
        "max_ms": 1000 * ordered[-1],
        "mean_ms": 1000 * statistics.fmean(ordered),
    }


@dataclass
class Window:
    """Counts what finishes between ``warmup`` and ``warmup + seconds`` after the start, and the CPU
    the server and this load generator used meanwhile."""

    server: Server
    warmup: float
    seconds: float
    started: float = field(default_factory=time.perf_counter)
    opened: float | None = None
    closed: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def inside(self, at: float) -> bool:
        return self.opened is not None and at >= self.opened and (self.closed is None or at <= self.closed)

    async def run(self) -> None:
        await asyncio.sleep(self.warmup)
        server0, client0, all0 = self.server.cpu_seconds(), own_cpu_seconds(), machine_busy_seconds()
        self.opened = time.perf_counter()
        await asyncio.sleep(self.seconds)
        self.closed = time.perf_counter()
        server1, client1, all1 = self.server.cpu_seconds(), own_cpu_seconds(), machine_busy_seconds()
        wall = self.closed - self.opened
        server, client = server1 - server0, client1 - client0
        self.cpu = {
            "server_cores": server / wall,
            "client_cores": client / wall,
            # Everything else on the machine meanwhile (other people's processes share these cores).
            "other_cores": max(0.0, (all1 - all0) - server - client) / wall,
            "server_cpu_seconds": server,
            "client_cpu_seconds": client,
            "other_cpu_seconds": max(0.0, (all1 - all0) - server - client),
        }
        self.stop.set()

    @property
    def wall(self) -> float:
        assert self.opened is not None and self.closed is not None
        return self.closed - self.opened


class Errors:
    def __init__(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def add(self, exc: BaseException) -> None:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(f"{type(exc).__name__}: {exc}")


async def sign_ins(
    server: Server, *, clients: int, warmup: float, seconds: float, first_account: int, max_accounts: int
) -> dict[str, Any]:
    """(b) Closed loop: ``clients`` people at once, each signing in as a new account from a new address
    (GET the page, POST the right password, 302 and a session), then the next one."""
    window = Window(server, warmup, seconds)
    counter = itertools.count()
    done: list[tuple[float, float, float]] = []  # (finished at, whole sign-in, the POST alone)
    errors = Errors()
    emails = server.seed["email_pattern"]

    async def person() -> None:
        while not window.stop.is_set():
            n = next(counter)
            if n >= max_accounts:
                return
            browser = Browser(server.port, address(BLOCK_SIGN_IN, n))
            started = time.perf_counter()
            try:
                _page, post = await browser.sign_in(emails.format(i=first_account + n), server.password)
                done.append((time.perf_counter(), time.perf_counter() - started, post.seconds))
            except (BenchError, OSError, TimeoutError, EOFError) as exc:
                errors.add(exc)
            finally:
                await browser.close()

    timer = asyncio.create_task(window.run())
    await asyncio.gather(*(person() for _ in range(clients)))
    if not window.stop.is_set():  # ran out of accounts before the window closed
        timer.cancel()
        raise BenchError(f"only {max_accounts} accounts for the sign-in phase; raise --accounts")
    await timer
    inside = [d for d in done if window.inside(d[0])]
    return {
        "clients": clients,
        "seconds": window.wall,
        "sign_ins": len(inside),
        "per_second": len(inside) / window.wall,
        "sign_in": summarise([d[1] for d in inside]),
        "post": summarise([d[2] for d in inside]),
        "errors": errors.count,
        "error_samples": errors.samples,
        "accounts_used": min(next(counter), max_accounts),
        "server_cpu_ms_per_sign_in": 1000 * window.cpu["server_cpu_seconds"] / max(1, len(inside)),
        "_raw": {"sign_in": [d[1] for d in inside], "post": [d[2] for d in inside]},
        **window.cpu,
    }


async def signed_in_browsers(server: Server, count: int, first_account: int, block: int) -> list[Browser]:
    """``count`` browsers, each signed in to its own account from its own address (not timed)."""
    browsers = [Browser(server.port, address(block, i, blocks=1)) for i in range(count)]
    emails = server.seed["email_pattern"]
    semaphore = asyncio.Semaphore(4)

    async def one(i: int, browser: Browser) -> None:
        async with semaphore:
            await browser.sign_in(emails.format(i=first_account + i), server.password)
            check = await browser.request("GET", "/")
            if check.status != 200 or b"Welcome" not in check.body:
                raise BenchError(f"the Overview answered {check.status} right after signing in")

    await asyncio.gather(*(one(i, b) for i, b in enumerate(browsers)))
    return browsers


async def overview(
    server: Server, browsers: list[Browser], *, warmup: float, seconds: float, max_requests: int = 10**6
) -> dict[str, Any]:
    """(c) Closed loop: every browser asks for ``/`` again as soon as the previous answer arrived."""
    window = Window(server, warmup, seconds)
    samples: list[tuple[float, float]] = []
    statuses: Counter[int] = Counter()
    errors = Errors()
    budget = itertools.count()

    async def loop(browser: Browser) -> None:
        await browser.connect()  # a fresh keep-alive connection, not one idle since the last phase
        while not window.stop.is_set() and next(budget) < max_requests:
            try:
                response = await browser.request("GET", "/")
            except (OSError, TimeoutError, EOFError) as exc:
                errors.add(exc)
                continue
            statuses[response.status] += 1
            if response.status == 200:
                samples.append((time.perf_counter(), response.seconds))
            else:
                errors.add(BenchError(f"GET / answered {response.status}"))

    timer = asyncio.create_task(window.run())
    await asyncio.gather(*(loop(b) for b in browsers))
    await timer
    inside = [s for s in samples if window.inside(s[0])]
    return {
        "clients": len(browsers),
        "seconds": window.wall,
        "requests": len(inside),
        "per_second": len(inside) / window.wall,
        **summarise([s[1] for s in inside]),
        "errors": errors.count,
        "error_samples": errors.samples,
        "statuses": {str(k): v for k, v in statuses.items()},
        "server_cpu_ms_per_request": 1000 * window.cpu["server_cpu_seconds"] / max(1, len(inside)),
        "_raw": {"latency": [s[1] for s in inside]},
        **window.cpu,
    }


async def paced_overview(
    server: Server, browsers: list[Browser], *, interval: float, warmup: float, seconds: float
) -> dict[str, Any]:
    """The probe of (d): each browser asks for ``/`` once per ``interval`` (staggered), a light steady load."""
    window = Window(server, warmup, seconds)
    samples: list[tuple[float, float]] = []
    errors = Errors()

    most = int((warmup + seconds) / interval) + 10  # the pacing allows no more; a bound all the same

    async def loop(k: int, browser: Browser) -> None:
        await browser.connect()
        next_at = time.perf_counter() + interval * k / len(browsers)
        for _ in range(most):
            if window.stop.is_set():
                break
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = max(next_at + interval, time.perf_counter())
            try:
                response = await browser.request("GET", "/")
            except (OSError, TimeoutError, EOFError) as exc:
                errors.add(exc)
                continue
            if response.status == 200:
                samples.append((time.perf_counter(), response.seconds))
            else:
                errors.add(BenchError(f"GET / answered {response.status}"))

    timer = asyncio.create_task(window.run())
    await asyncio.gather(*(loop(k, b) for k, b in enumerate(browsers)))
    await timer
    inside = [s for s in samples if window.inside(s[0])]
    return {
        "clients": len(browsers),
        "interval_s": interval,
        "seconds": window.wall,
        "requests": len(inside),
        "per_second": len(inside) / window.wall,
        **summarise([s[1] for s in inside]),
        "errors": errors.count,
        "error_samples": errors.samples,
        "_raw": {"latency": [s[1] for s in inside]},
        **window.cpu,
    }


def pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from several interleaved rounds of the same measurement: counts, seconds and CPU
    summed, percentiles over every sample; each round's own figures kept under ``rounds``."""
    first = rounds[0]
    seconds = sum(r["seconds"] for r in rounds)
    pooled: dict[str, Any] = {k: v for k, v in first.items() if not isinstance(v, (int, float))}
    pooled["seconds"] = seconds
    for key in ("clients", "interval_s"):
        if key in first:
            pooled[key] = first[key]
    for key in ("sign_ins", "requests", "errors", "accounts_used"):
        if key in first:
            pooled[key] = sum(r[key] for r in rounds)
    count = pooled.get("sign_ins", pooled.get("requests", 0))
    pooled["per_second"] = count / seconds
    for kind in ("server", "client", "other"):
        cpu = sum(r[f"{kind}_cpu_seconds"] for r in rounds)
        pooled[f"{kind}_cpu_seconds"] = cpu
        pooled[f"{kind}_cores"] = cpu / seconds
    raw = {k: [x for r in rounds for x in r["_raw"][k]] for k in first["_raw"]}
    if "latency" in raw:
        pooled.update(summarise(raw["latency"]))
        pooled["server_cpu_ms_per_request"] = 1000 * pooled["server_cpu_seconds"] / max(1, count)
    else:
        pooled["sign_in"] = summarise(raw["sign_in"])
        pooled["post"] = summarise(raw["post"])
        pooled["server_cpu_ms_per_sign_in"] = 1000 * pooled["server_cpu_seconds"] / max(1, count)
    pooled["error_samples"] = [e for r in rounds for e in r["error_samples"]][:5]
    if "statuses" in first:
        statuses: Counter[str] = Counter()
        for r in rounds:
            statuses.update(r["statuses"])
        pooled["statuses"] = dict(statuses)
    pooled["rounds"] = [
        {
            k: r[k]
            for k in ("per_second", "p50_ms", "p95_ms", "server_cores", "other_cores", "errors")
            if k in r
        }
        for r in rounds
    ]
    pooled.pop("_raw", None)
    return pooled


@dataclass
class Flood:
    """Open-loop failed sign-ins: attempt ``j`` is due at ``j / rate`` seconds, sent by whichever of the
    ``clients`` connections is free (at once if already late). Each attempt is a wrong password for an
    existing account (at most 3 per account, under the 4 free failures per account), from an address
    that sends at most 15 (under the 20 free failures per address), so every attempt costs a full
    Argon2id verification and none is turned away by throttling."""

    server: Server
    rate: float
    clients: int
    first_account: int
    accounts: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: Errors = field(default_factory=Errors)
    started: float = 0.0
    ended: float = 0.0
    due_at_end: int = 0

    PER_ADDRESS = 15
    PER_ACCOUNT = 3

    async def run(self) -> None:
        self.started = time.perf_counter()
        tickets = itertools.count()
        limit = self.accounts * self.PER_ACCOUNT
        addresses = itertools.count()
        emails = self.server.seed["email_pattern"]

        async def client() -> None:
            browser: Browser | None = None
            token = ""
            used = self.PER_ADDRESS
            while not self.stop.is_set():
                j = next(tickets)
                if j >= limit:
                    return
                delay = self.started + j / self.rate - time.perf_counter()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self.stop.wait(), delay)
                        return
                    except TimeoutError:
                        pass
                try:
                    if used >= self.PER_ADDRESS or browser is None:
                        if browser is not None:
                            await browser.close()
                        browser = Browser(self.server.port, address(BLOCK_FLOOD, next(addresses), blocks=50))
                        token = await browser.csrf_token()
                        used = 0
                    used += 1
                    self.sent += 1
                    account = self.first_account + j % self.accounts
                    response = await browser.request(
                        "POST",
                        "/accounts/login/",
                        {
                            "csrfmiddlewaretoken": token,
                            "login": emails.format(i=account),
                            "password": f"wrong password {j}",
                        },
                    )
                    self.statuses[response.status] += 1
                    self.latencies.append(response.seconds)
                except (BenchError, OSError, TimeoutError, EOFError) as exc:
                    self.errors.add(exc)
            if browser is not None:
                await browser.close()

        await asyncio.gather(*(client() for _ in range(self.clients)))
        self.ended = time.perf_counter()

    def report(self) -> dict[str, Any]:
        wall = max(1e-9, self.ended - self.started)
        completed = sum(self.statuses.values())
        return {
            "offered_per_second": self.rate,
            "clients": self.clients,
            "seconds": wall,
            "sent": self.sent,
            "sent_per_second": self.sent / wall,
            "answered": completed,
            "answered_per_second": completed / wall,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency": summarise(self.latencies),
            "errors": self.errors.count,
            "error_samples": self.errors.samples,
            "_raw": {"latency": list(self.latencies)},
        }


def pool_floods(reports: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sum(r["seconds"] for r in reports)
    statuses: Counter[str] = Counter()
    for r in reports:
        statuses.update(r["statuses"])
    sent = sum(r["sent"] for r in reports)
    answered = sum(r["answered"] for r in reports)
    return {
        "offered_per_second": reports[0]["offered_per_second"],
        "clients": reports[0]["clients"],
        "seconds": seconds,
        "sent": sent,
        "sent_per_second": sent / seconds,
        "answered": answered,
        "answered_per_second": answered / seconds,
        "statuses": dict(sorted(statuses.items())),
        "latency": summarise([x for r in reports for x in r["_raw"]["latency"]]),
        "errors": sum(r["errors"] for r in reports),
        "error_samples": [e for r in reports for e in r["error_samples"]][:5],
    }
