from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if sender.label != "accounts":
        return
    # The database cache (used when no Redis is configured) needs its table; creating it
    # here means ``threshold migrate`` alone prepares a fresh database.
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "threshold.core"
    label = "core"

    def ready(self) -> None:
        from threshold.core import checks  # noqa: F401  (registers the system checks; app loading)

        post_migrate.connect(_create_cache_table, dispatch_uid="threshold-cache-table")
