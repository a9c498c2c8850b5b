from __future__ import annotations

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
