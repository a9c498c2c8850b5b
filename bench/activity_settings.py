"""Settings for bench/activity.py: Threshold's own, over two databases chosen per measurement.

``default`` holds 10,000 events and ``large`` 10,000,000; each is a complete Threshold database. A router
sends every read and write to the database named in ``ALIAS``, so the portal's own selectors and views
run unchanged against either. (The small one is ``default`` itself: a second connection to the same
SQLite file would wait on the lock that ``transaction.atomic()`` takes on ``default``.)
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from typing import Any

from threshold.config.settings import *  # noqa: F403 - the portal's settings, with the databases below

_DATABASES = json.loads(os.environ["THRESHOLD_BENCH_DATABASES"])
DATABASES = {"default": _DATABASES["small"], "large": _DATABASES["large"]}
DATABASE_ROUTERS = ["activity_settings.ChosenDatabase"]
ALLOWED_HOSTS = ["127.0.0.1"]

ALIAS: ContextVar[str] = ContextVar("bench_database", default="default")


class ChosenDatabase:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return ALIAS.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return ALIAS.get()

    def allow_relation(self, a: Any, b: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
