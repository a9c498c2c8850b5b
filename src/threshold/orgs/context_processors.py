from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from threshold.orgs.policies import console_organization


def console(request: HttpRequest) -> dict[str, Any]:
    """The admin console's link in the portal's header, for a signed-in person."""
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return {"admin_console_url": _admin_console_url(request)}
    return {}


def _admin_console_url(request: HttpRequest) -> str:
    """The admin console's address for an admin of their home organisation ("" for anyone else)."""
    user = request.user
    if getattr(user, "kind", "") != "work":
        return ""  # no query for personal accounts
    return reverse("console:members") if console_organization(user) is not None else ""
