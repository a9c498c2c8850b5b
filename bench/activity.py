"""Recent activity at 10,000 and at 10,000,000 events: the first and the next page, p95, in one run.

    .venv/bin/python bench/activity.py            # SQLite (temporary files)
    THRESHOLD_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/activity.py
    .venv/bin/python bench/activity.py --quick    # 100,000 events instead of 10M: checks the harness

Two complete Threshold databases are built with bulk SQL (a recursive CTE on SQLite, generate_series on
PostgreSQL), with indexes made after the rows, exactly as the migrations declare them: ``small`` holds
10,000 events, ``large`` 10,000,000. In both, the measured person has the same 1,000 events spread over 90
days, among other people's (100 events each). The measurements alternate between the databases so that
both see the same machine. Figures:

- ``query``: ``activity.selectors.activity_page`` (the page's database reads and its rows as objects);
- ``view``: GET /activity/ through Django's test client (all queries, the chart, the template).

Target, so the page stays as quick however long the history grows: at 10M, p95 <= 1.25 x p95
at 10k, for the first and the next page. The script also prints the page query's plan at 10M
and checks it reads only the covering index, with no sort.
Writes bench/results/activity.json (``--out`` to change). Needs ~8 GB of free disk for the SQLite pair.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

PERSON_EVENTS = 1_000
EVENTS_PER_OTHER_PERSON = 100
SPAN_DAYS = 90
TARGET = 1.25
USER_AGENTS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Chrome on Windows",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mobile Safari on iOS",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox on Mac OS X",
    ),
]
PLACES = [("81.2.69.", "GB"), ("8.8.8.", "US"), ("89.160.20.", "SE")]
PAGE_INDEXES = ("event_user_page", "event_code_time", "event_time")
# The Django database alias of each size (see activity_settings.py).
ALIASES = {"small": "default", "large": "large"}


def say(message: str) -> None:
    print(message, flush=True)


# --- The event rows, as SQL ------------------------------------------------------------------------


def _case(expr: str, values: list[str]) -> str:
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"CASE {expr} {whens} END"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def event_columns(vendor: str, p: dict[str, int]) -> tuple[str, str]:
    """The INSERT column list and the SELECT expressions over ``n`` (1..N).

    The numbers in ``p`` are our own integers, written into the SQL (no parameters, so the
    modulo signs need no escaping).
    """
    kind = "(n % 20)"
    code = (
        f"CASE WHEN {kind} < 14 THEN 'account:signin:success' WHEN {kind} < 16 THEN 'account:signin:failure' "
        f"WHEN {kind} = 16 THEN 'account:signout' WHEN {kind} = 17 THEN 'account:profile:update' "
        f"WHEN {kind} = 18 THEN 'account:password:change' ELSE 'account:email:add' END"
    )
    result = f"CASE WHEN {kind} IN (14, 15) THEN 'failure' ELSE 'success' END"
    method = f"CASE WHEN {kind} < 16 THEN 'password' ELSE '' END"
    variant = "((n / 7) % 3)"
    user = (
        f"CASE WHEN n % {p['stride']:d} = 0 THEN {p['person']:d} "
        f"ELSE {p['first_other']:d} + (n % {p['others']:d}) END"
    )
    micros = f"({p['now_us']:d} - n * {p['step_us']:d})"
    if vendor == "sqlite":
        when = (
            f"strftime('%Y-%m-%d %H:%M:%S', {micros} / 1000000, 'unixepoch') "
            f"|| '.' || printf('%06d', {micros} % 1000000)"
        )
        ip = f"{_case(variant, [_quote(p) for p, _c in PLACES])} || (n % 250)"
        label = f"'person' || ({user}) || '@example.com'"
        details = f"CASE WHEN {kind} = 17 THEN '{{\"fields\": [\"display_name\"]}}' ELSE '{{}}' END"
    else:
        when = f"timestamptz 'epoch' + {micros} * interval '1 microsecond'"
        ip = f"({_case(variant, [_quote(p) for p, _c in PLACES])} || (n % 250))::inet"
        label = f"'person' || ({user}) || '@example.com'"
        details = (
            f"CASE WHEN {kind} = 17 THEN '{{\"fields\": [\"display_name\"]}}'::jsonb ELSE '{{}}'::jsonb END"
        )
    columns = (
        "occurred_at, code, result, user_id, subject_label, actor_label, ip, country, user_agent, "
        "device_label, method, details"
    )
    select = ", ".join(
        [
            when,
            code,
            result,
            user,
            label,
            label,
            ip,
            _case(variant, [_quote(c) for _p, c in PLACES]),
            _case(variant, [_quote(ua) for ua, _l in USER_AGENTS]),
            _case(variant, [_quote(lb) for _ua, lb in USER_AGENTS]),
            method,
            details,
        ]
    )
    return columns, select


ASSESSMENTS = (
    "INSERT INTO activity_signinassessment (event_id, score, unfamiliar, reasons) "
    'SELECT id, 2, {true}, \'[{{"rule": "new_device", "device": "Firefox on Mac OS X"}}, '
    '{{"rule": "new_country", "country": "SE"}}]\' '
    "FROM activity_securityevent WHERE code = 'account:signin:success' AND id % 97 = 0"
)


# --- Building one database ------------------------------------------------------------------------


def build(size: str, events: int) -> dict[str, Any]:
    """Migrate, then fill the database of ``size`` with ``events`` events (unless it holds them)."""
    from activity_settings import ALIAS
    from django.core.management import call_command
    from django.db import connections

    from threshold.accounts.models import User
    from threshold.activity.models import SecurityEvent

    alias = ALIASES[size]
    token = ALIAS.set(alias)
    try:
        began = time.perf_counter()
        call_command("migrate", database=alias, verbosity=0)
        call_command("createcachetable", database=alias, verbosity=0)
        if User.objects.filter(email="person@bench.example").exists():
            held = SecurityEvent.objects.count()
            if not events <= held <= events + 1000:
                raise SystemExit(
                    f"{size} holds {held:,} events, not {events:,}: remove the --data-dir files."
                )
            say(f"  {size}: reusing {held:,} events")
            return {"events": held, "reused": True}
        person = User.objects.create_user(email="person@bench.example", password=None)
        others = max(1, (events - PERSON_EVENTS) // EVENTS_PER_OTHER_PERSON)
        User.objects.bulk_create(
            (User(email=f"other{i}@bench.example", password="!") for i in range(others)), batch_size=5000
        )
        first_other = User.objects.exclude(pk=person.pk).order_by("pk").values_list("pk", flat=True).first()
        now_us = int(time.time() * 1_000_000)
        params = {
            "person": person.pk,
            "first_other": first_other,
            "others": others,
            "stride": events // PERSON_EVENTS,
            "now_us": now_us,
            "step_us": SPAN_DAYS * 86_400_000_000 // events,
        }
        connection = connections[alias]
        vendor = connection.vendor
        columns, select = event_columns(vendor, params)
        with connection.cursor() as cursor:
            if vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (%s, %s, %s)",
                    PAGE_INDEXES,
                )
                ddl = [sql for _name, sql in cursor.fetchall()]
                # A throwaway load: no rollback journal, no fsync (back to WAL afterwards).
                cursor.execute("PRAGMA journal_mode = OFF")
                cursor.execute("PRAGMA cache_size = -1000000")
                cursor.execute("PRAGMA synchronous = OFF")
                for name in PAGE_INDEXES:
                    cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
                cursor.execute(
                    f"INSERT INTO activity_securityevent ({columns}) "
                    f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {events:d}) "
                    f"SELECT {select} FROM seq"
                )
            else:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (%s, %s, %s)", PAGE_INDEXES
                )
                ddl = [sql for _name, sql in cursor.fetchall()]
                cursor.execute("SET maintenance_work_mem = '1GB'")
                cursor.execute("SET synchronous_commit = off")
                for name in PAGE_INDEXES:
                    cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
                cursor.execute(
                    f"INSERT INTO activity_securityevent ({columns}) "
                    f"SELECT {select} FROM generate_series(1::bigint, {events:d}) AS n"
                )
            loaded = time.perf_counter()
            for statement in ddl:
                cursor.execute(statement)
            cursor.execute(ASSESSMENTS.format(true="1" if vendor == "sqlite" else "true"))
            if vendor == "sqlite":
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        indexed = time.perf_counter()
        if vendor == "postgresql":
            # Autovacuum does this for an append-only table in production (insert threshold);
            # the visibility map is what lets the page be read from the index alone.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        say(
            f"  {size}: {events:,} events in {loaded - began:.0f} s, indexes in {indexed - loaded:.0f} s, "
            f"{time.perf_counter() - began:.0f} s in all"
        )
        return {
            "events": events,
            "load_seconds": round(loaded - began, 1),
            "index_seconds": round(indexed - loaded, 1),
            "total_seconds": round(time.perf_counter() - began, 1),
        }
    finally:
        ALIAS.reset(token)


# --- Measuring --------------------------------------------------------------------------------------


@contextmanager
def on(size: str) -> Iterator[None]:
    from activity_settings import ALIAS

    token = ALIAS.set(ALIASES[size])
    try:
        yield
    finally:
        ALIAS.reset(token)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p95_ms": round(p95(samples) * 1000, 3),
        "median_ms": round(statistics.median(samples) * 1000, 3),
        "runs": len(samples),
    }


def plan(size: str, cursor: str) -> str:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from threshold.accounts.models import User
    from threshold.activity import selectors

    with on(size):
        person = User.objects.get(email="person@bench.example")
        connection = connections[ALIASES[size]]
        with CaptureQueriesContext(connection) as captured:
            selectors.activity_page(person, cursor=cursor)
        sql = next(q["sql"] for q in captured.captured_queries if 'FROM "activity_securityevent"' in q["sql"])
        with connection.cursor() as db:
            if connection.vendor == "sqlite":
                db.execute(f"EXPLAIN QUERY PLAN {sql}")
                return "\n".join(str(row[-1]) for row in db.fetchall())
            db.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
            return "\n".join(row[0] for row in db.fetchall())


def plan_is_covering(vendor: str, text: str) -> bool:
    if vendor == "sqlite":
        return "USING COVERING INDEX event_user_page" in text and "TEMP B-TREE" not in text
    # The newest rows may still need a visit to the table until autovacuum marks their page
    # all-visible ("Heap Fetches"); the rest of the page is read from the index alone.
    return "Index Only Scan using event_user_page" in text and "Sort" not in text


def measure(aliases: list[str], runs: int, view_runs: int) -> dict[str, Any]:
    from django.test import Client

    from threshold.accounts.models import User
    from threshold.activity import selectors

    cursors: dict[str, str] = {}
    clients: dict[str, Client] = {}
    people: dict[str, Any] = {}
    for alias in aliases:
        with on(alias):
            people[alias] = User.objects.get(email="person@bench.example")
            first = selectors.activity_page(people[alias])
            assert len(first.items) == selectors.PAGE_SIZE and first.next_cursor
            cursors[alias] = first.next_cursor
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(people[alias])  # records one sign-in, as a real one would
            clients[alias] = client

    def page(alias: str, cursor: str) -> Callable[[], Any]:
        return lambda: selectors.activity_page(people[alias], cursor=cursor)

    def view(alias: str, cursor: str) -> Callable[[], Any]:
        path = "/activity/" + (f"?after={cursor}" if cursor else "")

        def get() -> Any:
            response = clients[alias].get(path)
            assert response.status_code == 200, response.status_code
            return response

        return get

    work: dict[tuple[str, str, str], Callable[[], Any]] = {}
    for alias in aliases:
        for which, cursor in (("first", ""), ("next", cursors[alias])):
            work[("query", alias, which)] = page(alias, cursor)
            work[("view", alias, which)] = view(alias, cursor)
    samples: dict[tuple[str, str, str], list[float]] = {key: [] for key in work}
    for key, call in work.items():  # warm caches and the connection
        with on(key[1]):
            for _ in range(20):
                call()
    for index in range(runs):
        for key, call in work.items():
            if key[0] == "view" and index >= view_runs:
                continue
            with on(key[1]):
                began = time.perf_counter()
                call()
                samples[key].append(time.perf_counter() - began)
    result: dict[str, Any] = {}
    for (what, alias, which), values in samples.items():
        result.setdefault(what, {}).setdefault(alias, {})[which] = summary(values)
    for what in ("query", "view"):
        for which in ("first", "next"):
            small = result[what]["small"][which]["p95_ms"]
            large = result[what]["large"][which]["p95_ms"]
            result[what].setdefault("ratio", {})[which] = round(large / small, 3)
    return result


# --- One backend ------------------------------------------------------------------------------------------


def databases_for(backend: str, scratch: Path, postgres_url: str, large: int) -> dict[str, dict[str, Any]]:
    from threshold.config import env

    if backend == "sqlite":
        urls = {
            "small": f"sqlite:///{scratch / 'small.sqlite3'}",
            "large": f"sqlite:///{scratch / f'large-{large}.sqlite3'}",
        }
    else:
        parts = urlsplit(postgres_url)
        base = parts.path.lstrip("/") or "postgres"
        urls = {
            alias: urlunsplit(parts._replace(path=f"/{base}_threshold_activity_{size}"))
            for alias, size in (("small", 10_000), ("large", large))
        }
    found = {}
    for alias, url in urls.items():
        os.environ["THRESHOLD_BENCH_URL"] = url
        found[alias] = env.database("THRESHOLD_BENCH_URL", scratch / f"{alias}.sqlite3")
        found[alias]["CONN_MAX_AGE"] = None
    return found


def create_postgres_databases(postgres_url: str, names: list[str], fresh: bool) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for name in names:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and fresh:
                connection.execute(f'DROP DATABASE "{name}"')
                exists = None
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_databases(postgres_url: str, names: list[str]) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_backend(
    backend: str, databases: dict[str, dict[str, Any]], sizes: dict[str, int], runs: int, view_runs: int
) -> dict[str, Any]:
    import django
    from django.db import connections

    os.environ["THRESHOLD_BENCH_DATABASES"] = json.dumps(databases, default=str)
    os.environ["DJANGO_SETTINGS_MODULE"] = "activity_settings"
    django.setup()
    vendor = connections["large"].vendor
    say(f"{backend}: building the databases ...")
    built = {alias: build(alias, sizes[alias]) for alias in ("small", "large")}
    say(f"{backend}: measuring ({runs} runs of each page, {view_runs} of each view) ...")
    figures = measure(["small", "large"], runs, view_runs)
    with on("large"):
        from threshold.accounts.models import User
        from threshold.activity import selectors

        person = User.objects.get(email="person@bench.example")
        next_cursor = selectors.activity_page(person).next_cursor or ""
    plans = {"first": plan("large", ""), "next": plan("large", next_cursor)}
    covering = {which: plan_is_covering(vendor, text) for which, text in plans.items()}
    for alias in connections:
        connections[alias].close()
    return {"build": built, **figures, "plan_at_large": plans, "plan_is_covering": covering}


def machine() -> dict[str, Any]:
    import django

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def report(backend: str, result: dict[str, Any], sizes: dict[str, int]) -> bool:
    ok = True
    say(f"\n{backend}: p95 (median) in ms, {sizes['small']:,} vs {sizes['large']:,} events")
    for what in ("query", "view"):
        for which in ("first", "next"):
            small = result[what]["small"][which]
            large = result[what]["large"][which]
            ratio = result[what]["ratio"][which]
            meets = ratio <= TARGET
            ok = ok and (meets or what == "view")
            say(
                f"  {what:5} {which:5} page: {small['p95_ms']:8.3f} ({small['median_ms']:.3f})  "
                f"{large['p95_ms']:8.3f} ({large['median_ms']:.3f})  x{ratio:.2f}"
                + ("" if what == "view" else ("  meets <= 1.25" if meets else "  MISSES <= 1.25"))
            )
    for which, text in result["plan_at_large"].items():
        good = result["plan_is_covering"][which]
        ok = ok and good
        say(
            f"  plan of the {which} page at {sizes['large']:,}: {'covering index, no sort' if good else 'NOT COVERING'}"
        )
        for line in text.splitlines():
            say(f"      {line}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="100,000 events instead of 10M: checks the harness"
    )
    parser.add_argument("--runs", type=int, default=300, help="measurements of each page per database")
    parser.add_argument("--view-runs", type=int, default=100, help="measurements of each whole view")
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) the SQLite databases here")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases for another run")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="measure one backend")
    parser.add_argument("--out", type=Path, help="where to write the JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    sizes = {"small": 10_000, "large": 100_000 if args.quick else 10_000_000}
    runs = 30 if args.quick else args.runs
    view_runs = 10 if args.quick else args.view_runs
    postgres_url = os.environ.get("THRESHOLD_BENCH_DATABASE_URL", "")
    backends = [b for b in ("sqlite", "postgresql") if args.only in (None, b)]
    if not postgres_url and "postgresql" in backends:
        backends.remove("postgresql")
        say(
            "(PostgreSQL skipped: set THRESHOLD_BENCH_DATABASE_URL=postgres://user@host:5432/db to measure it too)"
        )
    out = args.out or BENCH / "results" / ("activity-quick.json" if args.quick else "activity.json")
    scratch = args.data_dir or Path(tempfile.mkdtemp(prefix="threshold-activity-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("THRESHOLD_VAR_DIR", str(scratch))
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": sizes,
        "target": TARGET,
    }
    ok = True
    began = time.perf_counter()
    try:
        for backend in backends:
            # Each backend in its own process: Django is set up once per process.
            child = {**os.environ, "BENCH_ACTIVITY_CHILD": backend}
            databases = databases_for(backend, scratch, postgres_url, sizes["large"])
            if backend == "postgresql":
                names = [db["NAME"] for db in databases.values()]
                create_postgres_databases(postgres_url, names, fresh=not args.keep)
            child["BENCH_ACTIVITY_DATABASES"] = json.dumps(databases, default=str)
            child["BENCH_ACTIVITY_SIZES"] = json.dumps(sizes)
            child["BENCH_ACTIVITY_RUNS"] = f"{runs},{view_runs}"
            child_out = scratch / f"{backend}.json"
            child["BENCH_ACTIVITY_OUT"] = str(child_out)
            subprocess.run([sys.executable, __file__], env=child, check=True)
            result = json.loads(child_out.read_text())
            results[backend] = result
            ok = report(backend, result, sizes) and ok
            if backend == "postgresql" and not args.keep:
                drop_postgres_databases(postgres_url, [db["NAME"] for db in databases.values()])
    finally:
        if args.data_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - began, 1)
    import django

    results["machine"] = {**machine(), "django": django.get_version()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    say(
        f"\nWrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} in {results['seconds']:.0f} s."
    )
    return 1 if args.strict and not ok else 0


def child_main(backend: str) -> int:
    databases = json.loads(os.environ["BENCH_ACTIVITY_DATABASES"])
    sizes = json.loads(os.environ["BENCH_ACTIVITY_SIZES"])
    runs, view_runs = (int(x) for x in os.environ["BENCH_ACTIVITY_RUNS"].split(","))
    result = run_backend(backend, databases, sizes, runs, view_runs)
    Path(os.environ["BENCH_ACTIVITY_OUT"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    child = os.environ.get("BENCH_ACTIVITY_CHILD")
    sys.exit(child_main(child) if child else main())
