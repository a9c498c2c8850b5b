from __future__ import annotations

import email
import email.policy
import ipaddress
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "core/csrf_failure.html", status=403)


def _outbox_allowed(request: HttpRequest) -> bool:
    # SECURITY: the outbox holds every code sent; only demo mode shows it, and only to the
    # machine itself (the direct peer, never a forwarded header).
    if not settings.DEMO_MODE:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _read_message(path: Path) -> dict[str, str]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = body.get_content() if body is not None else ""  # type: ignore[union-attr]
    return {
        "id": path.stem,
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": path.stem[:15],
        "channel": str(message.get("X-Threshold-Channel", "email")),
        "body": text,
    }


@never_cache
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    if not _outbox_allowed(request):
        raise Http404
    directory = Path(settings.OUTBOX_DIR)
    files = sorted(directory.glob("*.eml"), reverse=True)[:50] if directory.exists() else []
    messages = [_read_message(path) for path in files]
    return render(request, "core/outbox.html", {"outbox": messages})
