"""The portal's left navigation: only sections that exist are listed."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    url_name: str
    label: Promise
    prefixes: tuple[str, ...] = ()


SECTIONS = [
    Section("overview", _("Overview")),
    Section(
        "your_info",
        _("Your info"),
        ("/your-info/", "/accounts/email/", "/accounts/confirm-email/", "/accounts/phone"),
    ),
    Section("security_info", _("Security info"), ("/security/", "/accounts/password/", "/accounts/2fa/")),
    Section("devices", _("Devices"), ("/devices/", "/accounts/sessions/")),
    Section("recent_activity", _("Recent activity"), ("/activity/",)),
    Section("subscriptions", _("Subscriptions"), ("/subscriptions/",)),
    Section("organizations", _("Organizations"), ("/organizations/",)),
    Section("privacy", _("Privacy"), ("/privacy/",)),
]


def nav_items(path: str) -> list[dict[str, object]]:
    items = []
    for section in SECTIONS:
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:
            continue  # that capability is not built yet
        current = path == url or any(path.startswith(p) for p in section.prefixes)
        items.append({"url": url, "label": section.label, "current": current})
    return items
