"""Text messages: the gateway protocol, its outbox twin and an HTTP provider adapter."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
import uuid
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsDeliveryError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    """Sends one text message to an E.164 number; raises SmsDeliveryError when refused."""

    def send(self, *, to: str, body: str) -> None: ...


class OutboxSmsGateway:
    """Local twin: writes each text message as an ``.eml`` file into the mail outbox."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def send(self, *, to: str, body: str) -> None:
        if not to.startswith("+") or not to[1:].isdigit():
            raise SmsDeliveryError(f"not an E.164 number: {to!r}")
        directory = self.directory or Path(settings.OUTBOX_DIR)
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


class HttpJsonSmsGateway:
    """A provider that takes ``POST {"to": …, "body": …}`` with a bearer token.

    Configure with THRESHOLD_SMS_URL and THRESHOLD_SMS_TOKEN.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 10) -> None:
        self.url = url or os.environ.get("THRESHOLD_SMS_URL", "")
        self.token = token or os.environ.get("THRESHOLD_SMS_TOKEN", "")
        self.timeout = timeout

    def send(self, *, to: str, body: str) -> None:
        if not self.url.startswith("https://"):
            raise SmsDeliveryError("THRESHOLD_SMS_URL must be an https:// URL")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.url,
            data=json.dumps({"to": to, "body": body}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if response.status >= 300:
                    raise SmsDeliveryError(f"provider answered {response.status}")
        except OSError as exc:
            raise SmsDeliveryError(str(exc)) from exc


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)  # type: ignore[no-any-return]


def get_sms_gateway() -> SmsGateway:
    return _gateway_class(settings.SMS_GATEWAY)()  # type: ignore[no-any-return]
