from typing import Any

from django.conf import settings
from django.http import HttpRequest

from threshold.core.navigation import nav_items


def portal(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"DEMO_MODE": settings.DEMO_MODE, "PORTAL_LANGUAGES": settings.LANGUAGES}
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        context["nav_items"] = nav_items(request.path)
    return context
