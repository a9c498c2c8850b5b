from __future__ import annotations

import ipaddress
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_when_the_database_does(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "up"


def test_healthz_answers_503_when_the_database_does_not(client: Any, monkeypatch: Any) -> None:
    from django.db.backends.utils import CursorWrapper

    def broken(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    status = client.get("/healthz").status_code
    monkeypatch.undo()
    assert status == 503


def test_security_headers_on_every_page(client: Any) -> None:
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_outbox_is_hidden_outside_demo_mode(client: Any, settings: Any) -> None:
    settings.DEMO_MODE = False
    assert client.get("/outbox/").status_code == 404


def test_outbox_shows_only_to_loopback_in_demo_mode(client: Any, settings: Any) -> None:
    settings.DEMO_MODE = True
    assert client.get("/outbox/", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/outbox/", REMOTE_ADDR="203.0.113.9").status_code == 404
    # A forwarded header cannot make a remote client look local.
    assert (
        client.get("/outbox/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 404
    )


@pytest.mark.parametrize(
    ("proxies", "peer", "headers"),
    [
        # A trusted proxy on the same machine forwards a remote client.
        (["127.0.0.0/8"], "127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}),
        (["127.0.0.0/8", "::1/128"], "::1", {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 127.0.0.1"}),
        # A proxy on the same machine that nobody configured as trusted.
        ([], "127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}),
        ([], "127.0.0.1", {"HTTP_X_REAL_IP": "203.0.113.9"}),
        ([], "127.0.0.1", {"HTTP_FORWARDED": 'for="[2001:db8::1]:4711";proto=https'}),
        ([], "127.0.0.1", {"HTTP_X_FORWARDED_FOR": "not-an-address"}),
        # A trusted proxy elsewhere that claims its client is local.
        (["10.0.0.0/8"], "10.0.0.5", {"HTTP_X_FORWARDED_FOR": "127.0.0.1"}),
    ],
)
def test_outbox_is_hidden_from_a_client_forwarded_by_a_proxy(
    client: Any, settings: Any, proxies: list[str], peer: str, headers: dict[str, str]
) -> None:
    settings.DEMO_MODE = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network(p) for p in proxies]
    assert client.get("/outbox/", REMOTE_ADDR=peer, **headers).status_code == 404


def test_outbox_shows_to_a_local_client_through_a_local_trusted_proxy(client: Any, settings: Any) -> None:
    settings.DEMO_MODE = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.0/8")]
    assert (
        client.get("/outbox/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
    )
    assert client.get("/outbox/", REMOTE_ADDR="127.0.0.1", HTTP_FORWARDED="for=127.0.0.1").status_code == 200
