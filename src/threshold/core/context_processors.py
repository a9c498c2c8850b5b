from typing import Any

from django.conf import settings
from django.http import HttpRequest

from threshold.core.navigation import nav_items


def portal(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"DEMO_MODE": settings.DEMO_MODE, "PORTAL_LANGUAGES": settings.LANGUAGES}
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        context["nav_items"] = nav_items(request.path)
        context["admin_console_url"] = _admin_console_url(request)
    return context


def _admin_console_url(request: HttpRequest) -> str:
    """The admin console's address for an admin of their home organisation ("" for anyone else)."""
    user = request.user
    if getattr(user, "kind", "") != "work":
        return ""  # no query for personal accounts
    from django.urls import reverse

    from threshold.orgs.policies import console_organization

    return reverse("console:members") if console_organization(user) is not None else ""
