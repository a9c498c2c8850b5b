"""The contract every text-message gateway passes: the outbox twin and the HTTP provider adapter.

The HTTP adapter talks to a real HTTP server on 127.0.0.1 started here, not to a mock.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import pytest

from threshold.core.sms import HttpJsonSmsGateway, OutboxSmsGateway, SmsDeliveryError, SmsGateway

# The shared fixtures clear the (database) cache around every test.
pytestmark = pytest.mark.django_db

TOKEN = "test-token-123"


@dataclass
class LocalProvider:
    """A small SMS provider: takes POST {"to", "body"} with a bearer token, answers ``status``."""

    status: int = 202
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    redirect_to: str = ""

    def serve(self) -> ThreadingHTTPServer:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                provider.headers.append(dict(self.headers))
                if provider.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", provider.redirect_to)
                    self.end_headers()
                    return
                if self.headers.get("Authorization") == f"Bearer {TOKEN}" and provider.status < 300:
                    provider.received.append(payload)
                    self.send_response(provider.status)
                else:
                    self.send_response(401 if provider.status < 300 else provider.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


class Harness(Protocol):
    gateway: SmsGateway

    def delivered(self) -> list[tuple[str, str]]: ...

    def make_next_send_fail(self) -> None: ...


class OutboxHarness:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.gateway: SmsGateway = OutboxSmsGateway(directory)

    def delivered(self) -> list[tuple[str, str]]:
        result = []
        for path in sorted(self.directory.glob("*-sms.eml")) if self.directory.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            to = str(message["Subject"]).removeprefix("Text message to ")
            result.append((to, message.get_content().rstrip("\n")))  # type: ignore[attr-defined]
        return result

    def make_next_send_fail(self) -> None:
        blocked = self.directory.parent / "not-a-directory"
        blocked.write_text("")
        self.gateway = OutboxSmsGateway(blocked)


class HttpHarness:
    def __init__(self, provider: LocalProvider, url: str) -> None:
        self.provider = provider
        self.gateway: SmsGateway = HttpJsonSmsGateway(
            url=url, token=TOKEN, timeout=5, allow_loopback_http=True
        )

    def delivered(self) -> list[tuple[str, str]]:
        return [(item["to"], item["body"]) for item in self.provider.received]

    def make_next_send_fail(self) -> None:
        self.provider.status = 503


@pytest.fixture
def provider() -> Iterator[tuple[LocalProvider, str]]:
    local = LocalProvider()
    server = local.serve()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield local, f"http://{host}:{port}/messages"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["outbox", "http"])
def harness(request: Any, tmp_path: Path, provider: tuple[LocalProvider, str]) -> Harness:
    if request.param == "outbox":
        return OutboxHarness(tmp_path / "outbox")
    return HttpHarness(*provider)


# --- The contract ---------------------------------------------------------------------------


def test_a_message_is_delivered_to_the_number(harness: Harness) -> None:
    harness.gateway.send(to="+34612345678", body="123456 es tu código ✓")
    harness.gateway.send(to="+447911123456", body="second")
    assert harness.delivered() == [("+34612345678", "123456 es tu código ✓"), ("+447911123456", "second")]


@pytest.mark.parametrize(
    "number", ["0612345678", "+34 612 345 678", "+0123456789", "+1", "", "+34612345678\n"]
)
def test_a_number_that_is_not_e164_is_refused(harness: Harness, number: str) -> None:
    with pytest.raises(SmsDeliveryError):
        harness.gateway.send(to=number, body="hello")
    assert harness.delivered() == []


def test_a_failure_to_deliver_is_an_sms_delivery_error(harness: Harness) -> None:
    harness.make_next_send_fail()
    with pytest.raises(SmsDeliveryError):
        harness.gateway.send(to="+34612345678", body="hello")
    assert harness.delivered() == []


# --- The HTTP adapter's own rules -------------------------------------------------------------


def test_the_http_gateway_sends_the_bearer_token(provider: tuple[LocalProvider, str]) -> None:
    local, url = provider
    HttpJsonSmsGateway(url=url, token=TOKEN, allow_loopback_http=True).send(to="+34612345678", body="x")
    assert local.headers[-1]["Authorization"] == f"Bearer {TOKEN}"
    assert local.headers[-1]["Content-Type"] == "application/json"


def test_the_http_gateway_refuses_a_plain_http_url(provider: tuple[LocalProvider, str]) -> None:
    local, url = provider
    with pytest.raises(SmsDeliveryError, match="https"):
        HttpJsonSmsGateway(url=url, token=TOKEN).send(to="+34612345678", body="x")  # no loopback flag
    with pytest.raises(SmsDeliveryError, match="https"):
        HttpJsonSmsGateway(url="http://sms.example.com/send", token=TOKEN, allow_loopback_http=True).send(
            to="+34612345678", body="x"
        )
    with pytest.raises(SmsDeliveryError, match="https"):
        HttpJsonSmsGateway(url="file:///etc/passwd", token=TOKEN).send(to="+34612345678", body="x")
    assert local.headers == []


def test_the_http_gateway_does_not_follow_redirects(provider: tuple[LocalProvider, str]) -> None:
    local, url = provider
    local.redirect_to = url.replace("/messages", "/elsewhere")
    with pytest.raises(SmsDeliveryError):
        HttpJsonSmsGateway(url=url, token=TOKEN, allow_loopback_http=True).send(to="+34612345678", body="x")
    assert len(local.headers) == 1  # the redirect target was never asked, with or without the token
