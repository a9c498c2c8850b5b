"""A pytest plugin: the whole suite must emit every catalogued security event through a real path.

Every ``SecurityEvent`` row is noted when it is inserted (a ``post_save`` receiver; nothing of
the project is wrapped or replaced). A row counts only when ``record_event`` was called from
the project's own code: a test that calls ``record_event`` itself, to put rows on a page,
proves nothing about a path that emits them. At the end of a whole run the codes of
``activity.catalog`` that no test emitted are named and the run fails.

Under pytest-xdist each worker hands its codes (and whether it deselected anything) to the
controller through ``workeroutput``; the controller, which runs no tests, makes the check.
The check is skipped when only part of the suite ran: a path other than ``tests/``, ``-k``,
``-m``, ``--deselect``, ``--lf`` (anything that deselects, apart from ``-m 'not bench'``), an
``--ignore`` other than the browser journeys (they run on their own, in Chromium),
collect-only, or a run that failed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest
from django.db.models.signals import post_save

import threshold
from threshold.activity import catalog
from threshold.activity.models import SecurityEvent
from threshold.activity.services import record_event

TESTS_DIR = Path(__file__).resolve().parent
# The journeys are run apart from the rest (scripts/test); leaving them out is still a whole run.
MAY_BE_LEFT_OUT = {TESTS_DIR / "browser"}

EMITTED = pytest.StashKey[set[str]]()
DESELECTED = pytest.StashKey[int]()
MISSING = pytest.StashKey[list[str]]()
WORKER_KEY = "threshold_emitted_events"


def _state(config: pytest.Config) -> set[str]:
    if EMITTED not in config.stash:
        config.stash[EMITTED] = set()
        config.stash[DESELECTED] = 0
    return config.stash[EMITTED]


class _Recorder:
    """The ``post_save`` receiver that notes the code of each event a project path records."""

    def __init__(self, emitted: set[str]) -> None:
        self.emitted = emitted
        self.writer: CodeType = record_event.__code__
        self.package = Path(threshold.__file__).resolve().parent
        self.ours: dict[str, bool] = {}

    def _from_the_project(self, frame: FrameType | None) -> bool:
        while frame is not None and frame.f_code is not self.writer:
            frame = frame.f_back
        if frame is None or frame.f_back is None:
            return False  # a row written around record_event is no path at all
        filename = frame.f_back.f_code.co_filename
        if filename not in self.ours:
            self.ours[filename] = Path(filename).resolve().is_relative_to(self.package)
        return self.ours[filename]

    def __call__(self, sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        if created and self._from_the_project(sys._getframe(1)):
            self.emitted.add(instance.code)


@pytest.fixture(scope="session", autouse=True)
def _note_emitted_events(request: pytest.FixtureRequest) -> Iterator[None]:
    recorder = _Recorder(_state(request.config))
    post_save.connect(recorder, sender=SecurityEvent, weak=False, dispatch_uid="threshold-emitted-events")
    yield
    post_save.disconnect(sender=SecurityEvent, dispatch_uid="threshold-emitted-events")


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Count the tests left out, apart from the benchmark harness (``-m 'not bench'``)."""
    if items:
        config = items[0].config
        _state(config)
        config.stash[DESELECTED] += sum(1 for item in items if item.get_closest_marker("bench") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: take a worker's codes and its deselections."""
    output = getattr(node, "workeroutput", None) or {}
    found = output.get(WORKER_KEY)
    if found is None:
        return
    config = node.config
    _state(config).update(found["emitted"])
    config.stash[DESELECTED] += found["deselected"]


def _whole_suite(session: pytest.Session) -> bool:
    config = session.config
    if config.option.collectonly or config.stash.get(DESELECTED, 0):
        return False
    start = config.invocation_params.dir
    paths = {(start / str(arg)).resolve() for arg in config.args}
    if paths != {TESTS_DIR}:
        return False  # a directory, a module or a test id: a part of the suite
    ignored = {(start / str(path)).resolve() for path in config.getoption("ignore") or []}
    return ignored <= MAY_BE_LEFT_OUT and not config.getoption("ignore_glob")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    emitted = _state(config)
    if hasattr(config, "workerinput"):
        config.workeroutput[WORKER_KEY] = {  # type: ignore[attr-defined]
            "emitted": sorted(emitted),
            "deselected": config.stash[DESELECTED],
        }
        return
    if exitstatus != pytest.ExitCode.OK or not _whole_suite(session):
        return
    missing = sorted(set(catalog.CATALOG) - emitted)
    if missing:
        config.stash[MISSING] = missing
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    missing = config.stash.get(MISSING, [])
    if missing:
        terminalreporter.section("catalogued events no test emitted", sep="=", red=True, bold=True)
        terminalreporter.write_line(
            "Every event type in activity/catalog.py needs a test that drives a path emitting it "
            "(a test calling record_event itself does not count). Never emitted:"
        )
        for code in missing:
            terminalreporter.write_line(f"  {code}")
