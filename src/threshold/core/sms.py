"""Text messages: the gateway protocol, its outbox twin and an HTTP provider adapter."""

from __future__ import annotations

import json
import os
import re
import ssl
import tempfile
import urllib.request
import uuid
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsDeliveryError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    """Sends one text message to an E.164 number; raises SmsDeliveryError when refused.

    Every implementation refuses a number that is not E.164 and reports any failure to
    deliver as SmsDeliveryError (never another exception), so callers handle one error.
    """

    def send(self, *, to: str, body: str) -> None: ...


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def require_e164(to: str) -> None:
    if not _E164.fullmatch(to):
        raise SmsDeliveryError(f"not an E.164 number: {to!r}")


class OutboxSmsGateway:
    """Local twin: writes each text message as an ``.eml`` file into the mail outbox."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def send(self, *, to: str, body: str) -> None:
        require_e164(to)
        directory = self.directory or Path(settings.OUTBOX_DIR)
        try:
            self._write(directory, to, body)
        except OSError as exc:
            raise SmsDeliveryError(f"could not write to the outbox: {exc}") from exc

    @staticmethod
    def _write(directory: Path, to: str, body: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        message = EmailMessage()
        message["From"] = "SMS gateway <sms@outbox.invalid>"
        message["To"] = f"sms:{to}"
        message["Subject"] = f"Text message to {to}"
        message["X-Threshold-Channel"] = "sms"
        message.set_content(body)
        name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}-sms.eml"
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(tmp, directory / name)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # SECURITY: urllib would follow a redirect with the Authorization header still attached,
    # possibly to plain http or another host; a provider that redirects is a failure.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class HttpJsonSmsGateway:
    """A provider that takes ``POST {"to": …, "body": …}`` with a bearer token.

    Configure with THRESHOLD_SMS_URL and THRESHOLD_SMS_TOKEN. ``ssl_context`` replaces the
    system's trusted certificates (a provider behind a private certificate authority; the
    contract test's local server).

    SECURITY: the URL must be https, since the bearer token and every code travel in the
    request, and the provider's certificate is always verified.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 10,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url or os.environ.get("THRESHOLD_SMS_URL", "")
        self.token = token or os.environ.get("THRESHOLD_SMS_TOKEN", "")
        self.timeout = timeout
        self.ssl_context = ssl_context

    def send(self, *, to: str, body: str) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise SmsDeliveryError("THRESHOLD_SMS_URL must be an https:// URL")
        require_e164(to)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        # Built per message, so the trusted certificates are the ones in place now, not at import.
        context = self.ssl_context or ssl.create_default_context()
        opener = urllib.request.build_opener(_RefuseRedirects, urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    raise SmsDeliveryError(f"provider answered {response.status}")
        except (OSError, ValueError) as exc:  # URLError, HTTPError and SSLError are OSErrors
            raise SmsDeliveryError(str(exc)) from exc


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def get_sms_gateway() -> SmsGateway:
    return _gateway_class(settings.SMS_GATEWAY)()
