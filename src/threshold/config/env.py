"""Reading Threshold's configuration from environment variables.

Parsing never raises: a bad value is remembered in ``ERRORS`` and a safe fallback is
used, so that Django's system checks (``threshold.core.checks``) can stop start-up with
one clear line instead of a traceback from inside settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from threshold.core import crypto

ERRORS: list[str] = []

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def text(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    ERRORS.append(f"{name}={raw!r} is not a yes/no value; use true or false.")
    return default


def integer(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        ERRORS.append(f"{name}={raw!r} is not a whole number.")
        return default
    if value < minimum:
        ERRORS.append(f"{name}={value} is below the minimum of {minimum}.")
        return default
    if maximum is not None and value > maximum:
        ERRORS.append(f"{name}={value} is above the maximum of {maximum}.")
        return default
    return value


def _test_database_name(name: str) -> str:
    # One test database per checkout, so that two checkouts on one machine (or CI beside a
    # developer) never drop each other's test database.
    digest = hashlib.sha256(str(Path(__file__).resolve()).encode()).hexdigest()[:8]
    return f"test_{name}_{digest}"


def database(name: str, default_sqlite: Path) -> dict[str, Any]:
    """A Django DATABASES entry from ``sqlite:///path`` or ``postgres://user:pw@host:port/db``."""
    raw = text(name)
    if not raw:
        return _sqlite_at(name, default_sqlite)
    parts = urlsplit(raw)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("//"):
            path = path[1:]
        elif path.startswith("/"):
            path = path[1:] or str(default_sqlite)
        return _sqlite_at(name, Path(path) if path else default_sqlite)
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        options.setdefault("connect_timeout", "10")  # a wrong host fails start-up, not hangs it
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "threshold",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
            "TEST": {"NAME": _test_database_name(unquote(parts.path.lstrip("/")) or "threshold")},
        }
    ERRORS.append(f"{name} has the unsupported scheme {parts.scheme!r}; use sqlite:///path or postgres://…")
    return _sqlite(Path(":memory:"))  # only so that the checks can report the line above


def _sqlite_at(name: str, path: Path) -> dict[str, Any]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        ERRORS.append(f"{name}: cannot create the folder {path.parent} for the database ({exc.strerror}).")
        return _sqlite(Path(":memory:"))  # only so that the checks can report the line above
    return _sqlite(path)


def _sqlite(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # Each app thread keeps its connection: opening one (and its PRAGMAs) costs ~0.7 ms,
        # a tenth of a page (README, "Benchmarks"). SQLite has no server that could drop it.
        "CONN_MAX_AGE": 600,
        "OPTIONS": {
            # SECURITY/availability: IMMEDIATE transactions take the write lock up front, so
            # concurrent sign-ins wait on the busy timeout instead of failing with
            # "database is locked" when a read transaction tries to upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
        "TEST": {"NAME": ""},
    }


def email(name: str, outbox: Path) -> dict[str, Any]:
    """A Django MAILERS entry from ``smtp://user:pw@host:port`` (``smtps://`` for TLS) or the outbox."""
    raw = text(name)
    if not raw:
        return {"BACKEND": "threshold.core.mail.OutboxEmailBackend", "OPTIONS": {"directory": str(outbox)}}
    parts = urlsplit(raw)
    if parts.scheme in {"smtp", "smtps", "smtp+tls"}:
        options: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "timeout": 10,
        }
        if parts.username:
            options["username"] = unquote(parts.username)
            options["password"] = unquote(parts.password or "")
        if parts.scheme == "smtps":
            options["use_ssl"] = True
        elif parts.scheme == "smtp+tls":
            options["use_tls"] = True
        return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    if parts.scheme == "outbox":
        return {
            "BACKEND": "threshold.core.mail.OutboxEmailBackend",
            "OPTIONS": {"directory": unquote(parts.path) or str(outbox)},
        }
    ERRORS.append(f"{name} has the unsupported scheme {parts.scheme!r}; use smtp://host:port.")
    return {"BACKEND": "threshold.core.mail.OutboxEmailBackend", "OPTIONS": {"directory": str(outbox)}}


def networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in text(name).replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            ERRORS.append(f"{name} contains {item!r}, which is not an IP address or network.")
    return found


def secret_key(name: str, var_dir: Path) -> str:
    """The secret key from the environment, or one generated once into ``var/`` (mode 0600)."""
    value = text(name)
    if value:
        if len(value) < 50 or len(set(value)) < 5:
            ERRORS.append(f"{name} is too short or too plain: use at least 50 random characters.")
        return value
    path = var_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        ERRORS.append(f"Cannot read {path}: {exc.strerror}.")
        return secrets.token_urlsafe(50)
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        ERRORS.append(f"Cannot write {path}: {exc.strerror}; set {name}.")
        return secrets.token_urlsafe(50)


def encryption_keys(name: str, var_dir: Path) -> list[bytes]:
    """The encryption keys, newest first: from the environment (comma-separated), or one
    generated once into ``var/encryption_keys`` (mode 0600).

    SECURITY: a bad key is reported by its position, never by its value, so that the
    error line cannot leak a key into logs.
    """
    value = text(name)
    path = var_dir / "encryption_keys"
    if not value:
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        except OSError as exc:
            ERRORS.append(f"Cannot read {path}: {exc.strerror}.")
            return [secrets.token_bytes(crypto.KEY_BYTES)]  # only so that the checks can report
        if not value:
            value = _write_new_key(name, path)
            if not value:
                return [secrets.token_bytes(crypto.KEY_BYTES)]  # only so that the checks can report
        name = str(path)
    items = [item for item in value.replace("\n", ",").split(",") if item.strip()]
    if not items:
        ERRORS.append(f"{name} lists no key; make one with `threshold rotate_encryption_keys --new-key`.")
    keys: list[bytes] = []
    for position, item in enumerate(items, start=1):
        key = crypto.decode_key(item)
        if key is None:
            ERRORS.append(
                f"{name}: key {position} of {len(items)} is not {crypto.KEY_BYTES} bytes in base64; "
                "make one with `threshold rotate_encryption_keys --new-key`."
            )
        elif key in keys:
            ERRORS.append(
                f"{name}: key {position} of {len(items)} repeats an earlier key; list each key once."
            )
        else:
            keys.append(key)
    return keys or [secrets.token_bytes(crypto.KEY_BYTES)]  # only so that the checks can report


def _write_new_key(name: str, path: Path) -> str:
    # SECURITY/availability: written whole under a temporary name and linked into place, so
    # that app processes starting together never read a half-written file and each use a
    # different key (a secret sealed under a key nobody kept could never be read again).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(crypto.new_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
        return path.read_text().strip()
    except OSError as exc:
        ERRORS.append(f"Cannot write {path}: {exc.strerror}; set {name}.")
        return ""
    finally:
        temporary.unlink(missing_ok=True)
