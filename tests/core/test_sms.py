"""The contract every text-message gateway passes: the outbox twin and the HTTP provider adapter.

The contract: deliver to an E.164 number, or raise SmsDeliveryError (and deliver nothing).
The HTTP adapter talks to a real HTTPS server on 127.0.0.1 started here, not to a mock,
with a throwaway certificate that only the client under test is told to trust.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from threshold.core.sms import HttpJsonSmsGateway, OutboxSmsGateway, SmsDeliveryError, SmsGateway

TOKEN = "test-token-123"


# --- A local HTTPS provider ----------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate and nothing else."""
        return ssl.create_default_context(cafile=str(self.cert))


def _make_certificate(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(directory / "cert.pem", directory / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return _make_certificate(tmp_path_factory.mktemp("tls"))


@dataclass
class LocalProvider:
    """A small SMS provider: takes POST {"to", "body"} with a bearer token, answers ``status``."""

    status: int = 202
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    redirect_to: str = ""
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
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

        return Handler


@pytest.fixture
def provider(certificate: Certificate) -> Iterator[LocalProvider]:
    local = LocalProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), local.handler())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    local.url = f"https://127.0.0.1:{server.server_address[1]}/messages"
    yield local
    server.shutdown()
    server.server_close()


def http_gateway(provider: LocalProvider, certificate: Certificate, **kwargs: Any) -> HttpJsonSmsGateway:
    options: dict[str, Any] = {"url": provider.url, "token": TOKEN, "timeout": 5}
    return HttpJsonSmsGateway(**{**options, **kwargs}, ssl_context=certificate.client_context())


# --- Every implementation, behind one harness ----------------------------------------------


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
    def __init__(self, provider: LocalProvider, certificate: Certificate) -> None:
        self.provider = provider
        self.gateway: SmsGateway = http_gateway(provider, certificate)

    def delivered(self) -> list[tuple[str, str]]:
        return [(item["to"], item["body"]) for item in self.provider.received]

    def make_next_send_fail(self) -> None:
        self.provider.status = 503


@pytest.fixture(params=["outbox", "http"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "outbox":
        return OutboxHarness(tmp_path / "outbox")
    return HttpHarness(request.getfixturevalue("provider"), request.getfixturevalue("certificate"))


# --- The contract ---------------------------------------------------------------------------


def test_a_message_is_delivered_to_the_number(harness: Harness) -> None:
    harness.gateway.send(to="+34612345678", body="123456 es tu código ✓")
    harness.gateway.send(to="+14255550123", body="123456 is your Threshold sign-in code.")
    assert harness.delivered() == [
        ("+34612345678", "123456 es tu código ✓"),
        ("+14255550123", "123456 is your Threshold sign-in code."),
    ]


@pytest.mark.parametrize(
    "number", ["0612345678", "0425 555 0123", "+34 612 345 678", "+0123456789", "+1", "", "+34612345678\n"]
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


def test_the_http_adapter_authenticates_and_sends_json(
    provider: LocalProvider, certificate: Certificate
) -> None:
    http_gateway(provider, certificate).send(to="+34612345678", body="x")
    [headers] = provider.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert provider.received == [{"to": "+34612345678", "body": "x"}]


def test_the_http_adapter_refuses_a_url_that_is_not_https(
    provider: LocalProvider, certificate: Certificate
) -> None:
    plain = provider.url.replace("https://", "http://")
    for url in (plain, "http://sms.example.com/send", "file:///etc/passwd", "https:///messages", ""):
        with pytest.raises(SmsDeliveryError, match="https"):
            http_gateway(provider, certificate, url=url).send(to="+34612345678", body="x")
    assert provider.headers == []


def test_the_http_adapter_verifies_the_providers_certificate(provider: LocalProvider) -> None:
    # Without being told to trust the throwaway certificate, the system's trust store applies.
    with pytest.raises(SmsDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        HttpJsonSmsGateway(url=provider.url, token=TOKEN, timeout=5).send(to="+34612345678", body="x")
    assert provider.headers == []


def test_the_http_adapter_does_not_follow_redirects(
    provider: LocalProvider, certificate: Certificate
) -> None:
    provider.redirect_to = provider.url.replace("/messages", "/elsewhere")
    with pytest.raises(SmsDeliveryError):
        http_gateway(provider, certificate).send(to="+34612345678", body="x")
    assert len(provider.headers) == 1  # the redirect target was never asked, with or without the token


def test_an_unreachable_provider_is_an_sms_delivery_error(certificate: Certificate) -> None:
    with pytest.raises(SmsDeliveryError):
        HttpJsonSmsGateway(
            url="https://127.0.0.1:9/messages",
            token=TOKEN,
            timeout=2,
            ssl_context=certificate.client_context(),
        ).send(to="+34612345678", body="x")
