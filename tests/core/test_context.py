"""Who a request comes from: the client address honours only the proxies we trust."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.test import RequestFactory

from tests.conftest import PASSWORD
from threshold.activity.models import SecurityEvent
from threshold.core.context import client_ip

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def ip_of(settings: Any, peer: str, forwarded: str | None = None, proxies: list[Any] | None = None) -> str:
    settings.TRUSTED_PROXIES = PROXIES if proxies is None else proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=peer, **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    assert ip_of(settings, "203.0.113.9", "198.51.100.1", proxies=[]) == "203.0.113.9"


def test_a_peer_that_is_not_a_trusted_proxy_cannot_choose_its_address(settings: Any) -> None:
    assert ip_of(settings, "203.0.113.9", "10.0.0.1") == "203.0.113.9"
    assert ip_of(settings, "203.0.113.9", "127.0.0.1, 198.51.100.1") == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_client_counts(settings: Any) -> None:
    assert ip_of(settings, "10.0.0.2", "198.51.100.1") == "198.51.100.1"
    assert ip_of(settings, "fd00::2", "2001:db8::7") == "2001:db8::7"


def test_the_address_is_read_from_the_right_past_trusted_hops_only(settings: Any) -> None:
    # The client wrote "1.2.3.4" itself; our proxies appended what they saw.
    assert ip_of(settings, "10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3") == "198.51.100.1"


def test_garbage_in_the_header_falls_back_to_the_peer(settings: Any) -> None:
    assert ip_of(settings, "10.0.0.2", "not-an-address") == "10.0.0.2"
    assert ip_of(settings, "10.0.0.2", "") == "10.0.0.2"
    assert ip_of(settings, "10.0.0.2") == "10.0.0.2"


def test_a_chain_of_trusted_hops_only(settings: Any) -> None:
    assert ip_of(settings, "10.0.0.2", "10.0.0.5, 10.0.0.3") == "10.0.0.5"


@pytest.mark.django_db
def test_events_and_throttling_use_the_honest_address(settings: Any, client: Any, user: Any) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    client.post(
        "/accounts/login/",
        {"login": user.email, "password": "wrong"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    client.post(
        "/accounts/login/",
        {"login": user.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    events = SecurityEvent.objects.order_by("id").values_list("code", "ip")
    assert list(events) == [
        ("account:signin:failure", "198.51.100.1"),
        ("account:signin:success", "203.0.113.9"),
    ]
