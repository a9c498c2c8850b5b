"""Misconfiguration stops start-up with one clear line per problem."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections


@register(Tags.security, deploy=False)
def configuration_errors(app_configs: Any, **kwargs: Any) -> list[Error]:
    return [
        Error(message, id=f"threshold.E{index:03d}")
        for index, message in enumerate(settings.THRESHOLD_CONFIG_ERRORS, start=1)
    ]


@register(Tags.security, deploy=True)
def production_configuration(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    if settings.DEBUG:
        errors.append(Error("THRESHOLD_DEBUG is on; turn it off in production.", id="threshold.E101"))
    if settings.DEMO_MODE:
        errors.append(Error("THRESHOLD_DEMO is on; turn it off in production.", id="threshold.E102"))
    if not settings.HTTPS:
        errors.append(Error("THRESHOLD_BASE_URL must be https:// in production.", id="threshold.E103"))
    return errors


@register("threshold")
def database_reachable(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A database URL that parses but leads nowhere is as wrong as one that does not parse."""
    if any(message.startswith("THRESHOLD_DATABASE_URL") for message in settings.THRESHOLD_CONFIG_ERRORS):
        return []  # already reported, in plainer words
    connection = connections["default"]
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        reason = (str(exc).strip().splitlines() or ["no reason given"])[0]
        target = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
        return [
            Error(
                f"THRESHOLD_DATABASE_URL: cannot connect to the {connection.display_name} database at "
                f"{target}: {reason}",
                id="threshold.E090",
            )
        ]
    return []
