"""Chromium journeys: real browser, real server (pytest-django's live_server), mail in the outbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("THRESHOLD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("THRESHOLD_SCREENSHOT_DIR", "test-results/screenshots"))


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}, "locale": "en-GB"}


@pytest.fixture
def outbox_dir(tmp_path: Path, settings: Any) -> Path:
    """Mail goes to the outbox, which the person reads at /outbox/ as in demo mode."""
    directory = tmp_path / "outbox"
    settings.OUTBOX_DIR = directory
    settings.DEMO_MODE = True
    settings.MAILERS = {
        "default": {
            "BACKEND": "threshold.core.mail.OutboxEmailBackend",
            "OPTIONS": {"directory": str(directory)},
        }
    }
    return directory


@pytest.fixture
def shoot() -> Iterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str, *, full_page: bool = True) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    yield take
