"""What the activity app learns from the apps above it, registered at start-up.

activity sits below every capability app and imports none of them. Whatever it needs to know
about them (who an alert goes to, how a detail reads in an alert, which organisations keep
sign-ins longer) each app registers here from its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# user -> the addresses that may be mailed about the account (verified ones only).
RecipientsSource = Callable[[Any], list[str]]
# a detail's stored value -> the value an alert shows.
DetailFormatter = Callable[[Any], Any]
# () -> {organisation id: days} for organisations keeping sign-ins past ACTIVITY_RETENTION_DAYS.
RetentionSource = Callable[[], dict[int, int]]

_recipients: RecipientsSource | None = None
_detail_formatters: dict[str, DetailFormatter] = {}
_retention: RetentionSource | None = None


def register_alert_recipients(source: RecipientsSource) -> None:
    """Name the function that lists an account's addresses a security alert may go to."""
    global _recipients
    _recipients = source


def register_alert_detail(key: str, formatter: DetailFormatter) -> None:
    """Show the event detail ``key`` in alerts as ``formatter`` renders it."""
    _detail_formatters[key] = formatter


def register_longer_retention(source: RetentionSource) -> None:
    """Name the function that says which organisations keep their members' sign-ins longer."""
    global _retention
    _retention = source


def alert_addresses(user: Any) -> list[str]:
    if _recipients is None:
        # SECURITY: never guess who to tell (an unverified address may not be the holder's).
        raise ImproperlyConfigured("No app registered the recipients of security alerts.")
    return _recipients(user)


def detail_formatters() -> dict[str, DetailFormatter]:
    return dict(_detail_formatters)


def longer_retention() -> dict[int, int]:
    """{organisation id: days}; none when no app keeps sign-ins longer."""
    return _retention() if _retention is not None else {}
