"""The settings module read from the environment, as a fresh process would (subprocesses)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

HTTPS_URL = "https://account.example.com"
SECRET = secrets.token_urlsafe(48)
# A fixed key: parametrized test ids must be the same in every pytest-xdist worker.
ENCRYPTION_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"threshold test encryption key").digest()).decode()


def run(args: list[str], tmp_path: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THRESHOLD_") and k != "DJANGO_SETTINGS_MODULE"
    }
    clean.update({"THRESHOLD_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "-m", "threshold.manage", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


HTTPS_PROBE = f"""
import json
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from threshold.accounts.models import User

user = User.objects.create_user(email="ada@example.com", password={PASSWORD!r})
EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
browser = Client(HTTP_HOST="account.example.com")
plain = browser.get("/accounts/login/")
page = browser.get("/accounts/login/", secure=True)
signed_in = browser.post("/accounts/login/", {{"login": user.email, "password": {PASSWORD!r}}}, secure=True)
cookies = {{**page.cookies, **signed_in.cookies}}
print(json.dumps({{
    "plain": [plain.status_code, plain.get("Location")],
    "signed_in": signed_in.status_code,
    "hsts": page.get("Strict-Transport-Security"),
    "cookies": {{
        name: {{"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}}
        for name, m in cookies.items()
    }},
}}))
"""


def test_https_base_url_makes_cookies_secure_and_sends_hsts(tmp_path: Path) -> None:
    env = {
        "THRESHOLD_BASE_URL": HTTPS_URL,
        "THRESHOLD_SECRET_KEY": SECRET,
        "THRESHOLD_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    assert run(["migrate", "--verbosity", "0"], tmp_path, **env).returncode == 0
    probe = run(["shell", "--no-imports", "-c", HTTPS_PROBE], tmp_path, **env)
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["plain"] == [301, "https://account.example.com/accounts/login/"]
    assert result["signed_in"] == 302
    assert result["hsts"] == "max-age=31536000; includeSubDomains"
    # __Host- cookies: Secure, no Domain, Path=/ (browsers enforce it), and HttpOnly + Lax.
    # (The device cookie recognises this browser on the Devices page; messages such as the
    # "signed in" notice are kept in the session, so there is no messages cookie.)
    assert set(result["cookies"]) == {
        "__Host-csrftoken",
        "__Host-threshold_session",
        "__Host-threshold_device",
    }
    for attributes in result["cookies"].values():
        assert attributes == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_check_deploy_passes_on_a_production_configuration(tmp_path: Path) -> None:
    result = run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        THRESHOLD_BASE_URL=HTTPS_URL,
        THRESHOLD_SECRET_KEY=SECRET,
        THRESHOLD_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        THRESHOLD_DEBUG="false",
        THRESHOLD_DEMO="false",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_when_the_encryption_keys_are_only_generated(tmp_path: Path) -> None:
    production = {"THRESHOLD_BASE_URL": HTTPS_URL, "THRESHOLD_SECRET_KEY": SECRET}
    result = run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production)
    assert result.returncode != 0
    assert "(threshold.W104) THRESHOLD_ENCRYPTION_KEYS is not set" in result.stderr
    # A warning, as for a generated secret key: plain `check --deploy` still passes.
    assert run(["check", "--deploy"], tmp_path, **production).returncode == 0


def test_check_deploy_refuses_plain_http(tmp_path: Path) -> None:
    result = run(["check", "--deploy"], tmp_path, THRESHOLD_BASE_URL="http://account.example.com")
    assert result.returncode != 0
    assert "(threshold.E103) THRESHOLD_BASE_URL must be https:// in production." in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("THRESHOLD_DATABASE_URL", "mysql://db.example/threshold", "unsupported scheme 'mysql'"),
        ("THRESHOLD_DATABASE_URL", "postgres://threshold@127.0.0.1:1/threshold", "cannot connect"),
        ("THRESHOLD_DATABASE_URL", "sqlite:///{tmp}/a-file/db.sqlite3", "cannot create the folder"),
        ("THRESHOLD_BASE_URL", "account.example.com", "is not an http(s) URL"),
        ("THRESHOLD_BASE_URL", "ftp://account.example.com", "is not an http(s) URL"),
        ("THRESHOLD_TRUSTED_PROXIES", "10.0.0.0/8, banana", "'banana', which is not an IP address"),
        ("THRESHOLD_SECRET_KEY", "too-short", "too short"),
        ("THRESHOLD_ENCRYPTION_KEYS", "not-a-key", "key 1 of 1 is not 32 bytes in base64"),
        ("THRESHOLD_ENCRYPTION_KEYS", f"{ENCRYPTION_KEY},c2hvcnQ=", "key 2 of 2 is not 32 bytes"),
        ("THRESHOLD_ENCRYPTION_KEYS", f"{ENCRYPTION_KEY},{ENCRYPTION_KEY}", "key 2 of 2 repeats"),
        ("THRESHOLD_ENCRYPTION_KEYS", " , ", "lists no key"),
    ],
)
def test_a_bad_setting_stops_check_with_one_clear_line(
    tmp_path: Path, variable: str, value: str, words: str
) -> None:
    (tmp_path / "a-file").write_text("in the way")
    result = run(["check"], tmp_path, **{variable: value.format(tmp=tmp_path)})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if variable in line]
    assert len(lines) == 1, output
    assert words in lines[0]


def test_a_secret_key_is_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    show = ["shell", "--no-imports", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    first = run(show, tmp_path)
    second = run(show, tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert second.stdout.strip() == key  # sessions and tokens survive a restart
    path = tmp_path / "var" / "secret_key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A key from the environment wins, and nothing is written for it.
    assert run(show, tmp_path, THRESHOLD_SECRET_KEY=SECRET).stdout.strip() == SECRET


SHOW_KEYS = [
    "shell",
    "--no-imports",
    "-c",
    "import base64; from django.conf import settings; "
    "print(','.join(base64.urlsafe_b64encode(k).decode() for k in settings.ENCRYPTION_KEYS))",
]


def test_an_encryption_key_is_generated_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = run(SHOW_KEYS, tmp_path)
    second = run(SHOW_KEYS, tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert second.stdout.strip() == key  # what was sealed yesterday opens today
    path = tmp_path / "var" / "encryption_keys"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Keys from the environment win, in their order (newest first), and nothing is written.
    older = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    listed = run(SHOW_KEYS, tmp_path, THRESHOLD_ENCRYPTION_KEYS=f" {ENCRYPTION_KEY} , {older} ")
    assert listed.stdout.strip() == f"{ENCRYPTION_KEY},{older}"
    assert path.read_text().strip() == key


def test_a_bad_encryption_key_is_reported_without_its_value(tmp_path: Path) -> None:
    almost = base64.urlsafe_b64encode(secrets.token_bytes(31)).decode()
    result = run(["check"], tmp_path, THRESHOLD_ENCRYPTION_KEYS=f"{ENCRYPTION_KEY},{almost}")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "key 2 of 2 is not 32 bytes" in output
    assert almost not in output and ENCRYPTION_KEY not in output


def test_app_processes_starting_together_agree_on_the_generated_key(tmp_path: Path) -> None:
    probe = (
        "import base64, sys; from pathlib import Path; from threshold.config import env; "
        "key = env.encryption_keys('THRESHOLD_ENCRYPTION_KEYS', Path(sys.argv[1]))[0]; "
        "print(base64.urlsafe_b64encode(key).decode(), env.ERRORS)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", probe, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    answers = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert answers == {f"{(tmp_path / 'encryption_keys').read_text().strip()} []"}
    assert [p.name for p in tmp_path.iterdir()] == ["encryption_keys"]  # no temporary file left


UNSAFE_STARTS = [
    # The reported start: debug and demo on behind a TLS proxy, bound to every interface.
    ({"THRESHOLD_DEBUG": "true", "THRESHOLD_DEMO": "true", "THRESHOLD_BASE_URL": HTTPS_URL}, "0.0.0.0"),
    # The same on loopback behind a proxy on this machine: reached from everywhere all the same.
    ({"THRESHOLD_DEBUG": "true", "THRESHOLD_DEMO": "true", "THRESHOLD_BASE_URL": HTTPS_URL}, "127.0.0.1"),
    (
        {"THRESHOLD_DEMO": "true", "THRESHOLD_TRUSTED_PROXIES": "127.0.0.1/32"},
        "127.0.0.1",
    ),
    ({"THRESHOLD_DEMO": "true", "THRESHOLD_EXTRA_HOSTS": "account.example.com"}, "127.0.0.1"),
    # Without demo mode a loopback bind does not excuse debug or plain http.
    ({"THRESHOLD_DEBUG": "true", "THRESHOLD_BASE_URL": HTTPS_URL}, "127.0.0.1"),
    ({"THRESHOLD_BASE_URL": "http://127.0.0.1:8000"}, "127.0.0.1"),
    ({"THRESHOLD_DEMO": "true"}, "0.0.0.0"),
]


@pytest.mark.parametrize(("env", "host"), UNSAFE_STARTS)
def test_serve_refuses_settings_that_check_deploy_rejects(
    tmp_path: Path, env: dict[str, str], host: str
) -> None:
    try:
        result = run(
            ["serve", "--host", host, "--port", str(_free_port())],
            tmp_path,
            THRESHOLD_SECRET_KEY=SECRET,
            timeout=20,
            **env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"threshold serve started with {env} on {host}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "Threshold is serving" not in output
    refusal = result.stderr.strip().splitlines()
    assert len(refusal) == 1, output
    assert "refusing to serve" in refusal[0]


@pytest.mark.parametrize(
    ("env", "host"),
    [
        ({"THRESHOLD_DEMO": "true", "THRESHOLD_DEBUG": "true"}, "127.0.0.1"),
        ({"THRESHOLD_DEMO": "true", "THRESHOLD_BASE_URL": "http://localhost:8000"}, "localhost"),
        ({"THRESHOLD_BASE_URL": HTTPS_URL, "THRESHOLD_DEBUG": "false", "THRESHOLD_DEMO": "false"}, "0.0.0.0"),
    ],
)
def test_serve_starts_a_local_demo_and_a_production_configuration(
    tmp_path: Path, env: dict[str, str], host: str
) -> None:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THRESHOLD_") and k != "DJANGO_SETTINGS_MODULE"
    }
    clean.update(THRESHOLD_VAR_DIR=str(tmp_path / "var"), THRESHOLD_SECRET_KEY=SECRET, **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "threshold.manage", "serve", "--host", host, "--port", str(_free_port())],
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Threshold is serving on"):
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert lines and lines[-1].startswith("Threshold is serving on"), "".join(lines)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
