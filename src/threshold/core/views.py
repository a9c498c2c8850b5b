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

from threshold.core.context import client_ip


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
    # machine itself. Behind a proxy on this machine the direct peer is always loopback, so the
    # forwarded client must be loopback too, and so must every address any forwarding header
    # names, whether or not that proxy was configured as trusted.
    if not settings.DEMO_MODE:
        return False
    named = [request.META.get("REMOTE_ADDR", ""), client_ip(request), *_forwarded_addresses(request)]
    return all(_is_loopback(address) for address in named)


def _forwarded_addresses(request: HttpRequest) -> list[str]:
    """Every client address named by X-Forwarded-For, X-Real-IP and Forwarded (RFC 7239)."""
    addresses = []
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP"):
        addresses += [hop.strip() for hop in request.META.get(header, "").split(",") if hop.strip()]
    for element in request.META.get("HTTP_FORWARDED", "").replace(",", ";").split(";"):
        name, _, value = element.strip().partition("=")
        if name.strip().lower() == "for":
            addresses.append(_forwarded_node(value.strip().strip('"')))
    return addresses


def _forwarded_node(node: str) -> str:
    if node.startswith("["):  # "[2001:db8::1]:4711"
        return node[1 : node.find("]")] if "]" in node else node
    return node.partition(":")[0] if node.count(":") == 1 else node


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _read_message(path: Path) -> dict[str, str]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = body.get_content() if body is not None else ""
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
