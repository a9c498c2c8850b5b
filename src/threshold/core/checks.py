"""Misconfiguration stops start-up with one clear line per problem."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.utils.module_loading import import_string

from threshold.core.sms import HttpJsonSmsGateway


@register(Tags.security, deploy=False)
def configuration_errors(app_configs: Any, **kwargs: Any) -> list[Error]:
    return [
        Error(message, id=f"threshold.E{index:03d}")
        for index, message in enumerate(settings.THRESHOLD_CONFIG_ERRORS, start=1)
    ]


@register(Tags.security, deploy=False)
def sms_gateway(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The HTTP text-message provider needs an https URL and a token before anyone needs a code."""
    try:
        gateway_class = import_string(settings.SMS_GATEWAY)
    except ImportError:
        return [
            Error(f"THRESHOLD_SMS_GATEWAY={settings.SMS_GATEWAY!r} cannot be imported.", id="threshold.E010")
        ]
    if not callable(getattr(gateway_class, "send", None)):
        return [
            Error(
                f"THRESHOLD_SMS_GATEWAY={settings.SMS_GATEWAY!r} has no send() method.", id="threshold.E011"
            )
        ]
    if isinstance(gateway_class, type) and issubclass(gateway_class, HttpJsonSmsGateway):
        gateway = gateway_class()
        if not gateway.url.startswith("https://") or not gateway.token:
            return [
                Error(
                    "THRESHOLD_SMS_GATEWAY is the HTTP provider: set THRESHOLD_SMS_URL to an https:// URL "
                    "and THRESHOLD_SMS_TOKEN.",
                    id="threshold.E012",
                )
            ]
    return []


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


@register(Tags.security, deploy=True)
def encryption_keys_set(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """A generated key works, but in production the operator should hold it (as with the
    secret key, a generated one is not refused): every app server must share it, and kept
    only in var/ it travels with a copy of an SQLite database it is meant to protect."""
    if settings.ENCRYPTION_KEYS_SET:
        return []
    return [
        Warning(
            "THRESHOLD_ENCRYPTION_KEYS is not set, so stored secrets are encrypted under the key generated "
            "in var/encryption_keys; set it in production, the same on every app server, and keep it out "
            "of database backups.",
            id="threshold.W104",
        )
    ]


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


@register(Tags.caches)
def redis_reachable(app_configs: Any, **kwargs: Any) -> list[Error]:
    """With THRESHOLD_REDIS_URL set, Redis must answer: sessions and throttling live there."""
    if not settings.REDIS_URL:
        return []
    import redis  # reason: needed only when THRESHOLD_REDIS_URL is set

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return [
            Error(
                f"THRESHOLD_REDIS_URL is set but Redis does not answer ({exc}); start Redis or unset it.",
                id="threshold.E110",
            )
        ]
    return []
