"""The contract every SMS gateway keeps: deliver to an E.164 number, or raise SmsDeliveryError.

Run against the local outbox twin and against the HTTP provider adapter talking to a
real HTTPS server on this machine (a throwaway certificate the client is told to trust).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import compat32
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from threshold.core.sms import HttpJsonSmsGateway, OutboxSmsGateway, SmsDeliveryError, SmsGateway

NUMBER = "+14255550123"
BODY = "123456 is your Threshold sign-in code."


@dataclass
class Provider:
    """A pretend SMS provider: records what it receives; answers ``status``."""

    status: int = 202
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def _certificate(directory: Path) -> tuple[Path, Path]:
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
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One throwaway certificate, trusted by the client for the whole module (OpenSSL reads
    SSL_CERT_FILE once per process, so it must not change between tests)."""
    cert, key = _certificate(tmp_path_factory.mktemp("tls"))
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(cert)
    yield cert, key
    if before is None:
        os.environ.pop("SSL_CERT_FILE", None)
    else:
        os.environ["SSL_CERT_FILE"] = before


@pytest.fixture
def provider(certificate: tuple[Path, Path]) -> Iterator[Provider]:
    state = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            state.received.append(
                {
                    "authorization": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"https://127.0.0.1:{server.server_address[1]}/messages"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["outbox", "http"])
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, SmsGateway, Any]:
    if request.param == "outbox":
        directory = tmp_path / "outbox"
        return "outbox", OutboxSmsGateway(directory), directory
    provider: Provider = request.getfixturevalue("provider")
    return "http", HttpJsonSmsGateway(url=provider.url, token="secret-token", timeout=5), provider


def delivered(kind: str, where: Any) -> list[tuple[str, str]]:
    if kind == "outbox":
        found = []
        for path in sorted(Path(where).glob("*-sms.eml")):
            message = message_from_bytes(path.read_bytes(), policy=compat32)
            found.append(
                (str(message["To"]).removeprefix("sms:").rstrip(";"), str(message.get_payload()).strip())
            )
        return found
    return [(item["json"]["to"], item["json"]["body"]) for item in where.received]


def test_a_message_is_delivered_to_the_number(gateway: tuple[str, SmsGateway, Any]) -> None:
    kind, sms, where = gateway
    sms.send(to=NUMBER, body=BODY)
    assert delivered(kind, where) == [(NUMBER, BODY)]


def test_a_refusal_is_an_sms_delivery_error(gateway: tuple[str, SmsGateway, Any]) -> None:
    kind, sms, where = gateway
    if kind == "outbox":
        with pytest.raises(SmsDeliveryError):
            sms.send(to="0425 555 0123", body=BODY)  # not E.164
    else:
        where.status = 503
        with pytest.raises(SmsDeliveryError):
            sms.send(to=NUMBER, body=BODY)


def test_the_http_adapter_authenticates_and_sends_json(provider: Provider) -> None:
    HttpJsonSmsGateway(url=provider.url, token="secret-token", timeout=5).send(to=NUMBER, body=BODY)
    [request] = provider.received
    assert request["authorization"] == "Bearer secret-token"
    assert request["content_type"] == "application/json"


def test_the_http_adapter_refuses_plain_http() -> None:
    with pytest.raises(SmsDeliveryError):
        HttpJsonSmsGateway(url="http://127.0.0.1:9/messages", token="t").send(to=NUMBER, body=BODY)


def test_an_unreachable_provider_is_an_sms_delivery_error() -> None:
    with pytest.raises(SmsDeliveryError):
        HttpJsonSmsGateway(url="https://127.0.0.1:9/messages", token="t", timeout=2).send(
            to=NUMBER, body=BODY
        )
