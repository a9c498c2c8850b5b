"""The server under test: ``threshold serve`` (gunicorn) on a free loopback port, with its own temporary
THRESHOLD_VAR_DIR and SQLite file, started and stopped by the benchmark; plus CPU accounting from /proc."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Settings a developer may set to try another tuning; everything else THRESHOLD_* is cleared, so the
# benchmark never touches a configured database, cache or mail server.
PASSED_THROUGH = (
    "THRESHOLD_WORKERS",
    "THRESHOLD_THREADS",
    "THRESHOLD_HASHING_CONCURRENCY",
    "THRESHOLD_HASHING_QUEUE",
    "THRESHOLD_HASHING_NICENESS",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User+system CPU of ``pid`` and of its live children (gunicorn's master and its workers)."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        this, parent = int(entry.name), int(fields[1])
        if this == pid or parent == pid:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """CPU of this process (the load generator) so far."""
    return time.process_time()


class Server:
    def __init__(self, *, accounts: int, password: str, keep: bool = False) -> None:
        self.accounts = accounts
        self.password = password
        self.keep = keep
        self.var_dir = Path(tempfile.mkdtemp(prefix="threshold-bench-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.seed: dict[str, Any] = {}
        self.log_path = self.var_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_") or k in PASSED_THROUGH}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            THRESHOLD_VAR_DIR=str(self.var_dir),
            # A local demo is the only start `threshold serve` allows over plain http; demo mode
            # adds nothing to a page but the outbox link in the footer.
            THRESHOLD_DEMO="true",
            THRESHOLD_DEBUG="false",
            THRESHOLD_BASE_URL=self.base_url,
            PORT=str(self.port),
            PYTHONUNBUFFERED="1",
        )
        return env

    def prepare(self) -> dict[str, Any]:
        """Migrate the fresh SQLite file and create the accounts (bench/seed.py, same environment)."""
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "seed.py"),
                "--accounts",
                str(self.accounts),
                "--password",
                self.password,
            ],
            env=self.env(),
            cwd=self.var_dir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"bench/seed.py failed:\n{result.stdout}\n{result.stderr}")
        self.seed = json.loads(result.stdout.strip().splitlines()[-1])
        return self.seed

    def start(self, timeout: float = 60) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "threshold"), "serve", "--port", str(self.port)],
            env=self.env(),
            cwd=self.var_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._log = log
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthz within {timeout} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        if self.process is None:
            return []
        found = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as handle:
                        stat = handle.read()
                except OSError:
                    continue
                if int(stat[stat.rindex(b")") + 2 :].split()[1]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid) if self.process else 0.0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers gracefully
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # our own session, started above
                process.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if not self.keep and self.var_dir.exists():
            shutil.rmtree(self.var_dir, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
