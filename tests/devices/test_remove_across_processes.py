"""Remove a device through one app process; its next request to another process is signed out.

Two real ``threshold serve`` (gunicorn) processes on two loopback ports share one
PostgreSQL database (made for this test and dropped after) and one Redis, as in
production with ``cached_db`` sessions. The browsers are plain HTTP clients with their own
cookie jars: the one that signs in through process A is removed by another through
process B, and A must then treat it as signed out.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.activity.helpers import MAC_FIREFOX, WINDOWS_CHROME

DATABASE_URL = os.environ.get("THRESHOLD_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("THRESHOLD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery staple 42"
THRESHOLD = str(Path(sys.executable).with_name("threshold"))

CREATE_USER = r"""
import sys
import django
django.setup()
from allauth.account.models import EmailAddress
from threshold.accounts.models import User
user = User.objects.create_user(email=sys.argv[1], password=sys.argv[2], given_name="Ada")
EmailAddress.objects.create(user=user, email=sys.argv[1], primary=True, verified=True)
"""


def _unavailable(message: str) -> None:
    message = f"two-process device removal not run: {message}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def shared_database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards; its URL."""
    try:
        import psycopg

        admin = psycopg.connect(
            DATABASE_URL.replace("postgres://", "postgresql://", 1), autocommit=True, connect_timeout=3
        )
    except Exception as exc:
        _unavailable(f"no PostgreSQL at {DATABASE_URL} ({exc}); set THRESHOLD_TEST_DATABASE_URL")
        raise
    name = f"threshold_devices_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(DATABASE_URL, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def shared_redis() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no Redis here"
        _unavailable(f"no Redis at {REDIS_URL} ({exc}); set THRESHOLD_TEST_REDIS_URL")
    return REDIS_URL


@dataclass
class App:
    url: str
    process: subprocess.Popen[bytes]


def _wait_until_up(app: App) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            output = app.process.stdout.read().decode(errors="replace") if app.process.stdout else ""
            raise AssertionError(f"threshold serve stopped: {output[-3000:]}")
        try:
            with urllib.request.urlopen(f"{app.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"{app.url} did not come up")


@pytest.fixture
def two_processes(
    shared_database: str, shared_redis: str, tmp_path: Path
) -> Iterator[tuple[App, App, dict[str, str]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "threshold.config.settings",
        "THRESHOLD_DATABASE_URL": shared_database,
        "THRESHOLD_REDIS_URL": shared_redis,
        "THRESHOLD_VAR_DIR": str(tmp_path / "var"),
        "THRESHOLD_SECRET_KEY": secrets.token_hex(32),
        "THRESHOLD_BASE_URL": "http://127.0.0.1:8000",
        "THRESHOLD_DEBUG": "false",
        # A local demo is the only start `threshold serve` allows over plain http.
        "THRESHOLD_DEMO": "true",
    }
    env.pop("THRESHOLD_EMAIL_URL", None)
    migrate = subprocess.run(
        [THRESHOLD, "migrate", "--verbosity", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    apps = []
    for _ in range(2):
        port = _free_port()
        process = subprocess.Popen(
            [THRESHOLD, "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        apps.append(App(url=f"http://127.0.0.1:{port}", process=process))
    try:
        for app in apps:
            _wait_until_up(app)
        yield apps[0], apps[1], env
    finally:
        for app in apps:
            app.process.terminate()
        for app in apps:
            try:
                app.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                app.process.kill()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A browser as far as the portal can tell: a user agent and a cookie jar (cookies are not per port)."""

    def __init__(self, user_agent: str) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects)
        self.user_agent = user_agent

    def request(self, url: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers={"User-Agent": self.user_agent})
        try:
            with self.opener.open(req, timeout=20) as answer:
                return answer.status, answer.headers.get("Location", ""), answer.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", ""), answer.read().decode(errors="replace")

    def post_form(self, page_url: str, url: str, data: dict[str, str]) -> tuple[int, str, str]:
        status, _location, html = self.request(page_url)
        assert status == 200, (page_url, status)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match, f"no CSRF token on {page_url}"
        return self.request(url, {**data, "csrfmiddlewaretoken": match.group(1)})

    def sign_in(self, base: str, email: str) -> None:
        status, location, _html = self.post_form(
            f"{base}/accounts/login/", f"{base}/accounts/login/", {"login": email, "password": PASSWORD}
        )
        assert status == 302 and location == "/", (status, location)

    def signed_in_at(self, base: str) -> bool:
        status, location, _html = self.request(f"{base}/devices/")
        if status == 200:
            return True
        assert status == 302 and location.startswith("/accounts/login/"), (status, location)
        return False


def test_a_device_removed_through_one_process_is_signed_out_by_the_other(
    two_processes: tuple[App, App, dict[str, str]],
) -> None:
    a, b, env = two_processes
    email = f"ada-{secrets.token_hex(3)}@example.com"
    made = subprocess.run(
        [sys.executable, "-c", CREATE_USER, email, PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-2000:]

    laptop = Browser(WINDOWS_CHROME)
    laptop.sign_in(a.url, email)
    assert laptop.signed_in_at(a.url)  # its session is now in process A's (shared) cache too

    phone = Browser(MAC_FIREFOX)
    phone.sign_in(b.url, email)
    status, _location, html = phone.request(f"{b.url}/devices/")
    assert status == 200
    match = re.search(r'<strong id="device-([0-9a-f-]{36})">Chrome on Windows</strong>', html)
    assert match, "the laptop is not listed on the Devices page"
    status, location, _html = phone.post_form(
        f"{b.url}/devices/", f"{b.url}/devices/{match.group(1)}/remove/", {}
    )
    assert (status, location) == (302, "/devices/")

    assert not laptop.signed_in_at(a.url)
    assert not laptop.signed_in_at(b.url)
    assert phone.signed_in_at(a.url) and phone.signed_in_at(b.url)
