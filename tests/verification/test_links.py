"""A mailed link's token: into the session, out of the address, kept apart by purpose, used once."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from threshold.verification.links import (
    LINK_TOKEN_MAX_LENGTH,
    consume_link_token,
    link_landing,
    link_page,
    link_token,
)

TOKEN = "mailed-secret-" + "k" * 30


@link_page
@require_http_methods(["GET", "POST"])
def _page(request: HttpRequest, purpose: str) -> HttpResponse:
    """A page as the real ones are: it says whether it holds a token, never the token itself."""
    read = consume_link_token if request.method == "POST" else link_token
    token = read(request, purpose)
    if not token:
        return HttpResponse("none")
    return HttpResponse(f"{'right' if token == TOKEN else 'other'} {len(token)}")


urlpatterns = [
    path("a/<str:token>/", link_landing("test_a", to="test_link_a")),
    path("a/", _page, {"purpose": "test_a"}, name="test_link_a"),
    path("b/<str:token>/", link_landing("test_b", to="test_link_b")),
    path("b/", _page, {"purpose": "test_b"}, name="test_link_b"),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def test_the_link_moves_its_token_out_of_the_address(client: Client) -> None:
    landed = client.get(f"/a/{TOKEN}/")
    assert landed.status_code == 302 and landed["Location"] == "/a/"
    assert TOKEN not in landed["Location"]
    assert landed["Referrer-Policy"] == "no-referrer"
    assert "no-store" in landed["Cache-Control"]
    page = client.get("/a/")
    assert page["Referrer-Policy"] == "no-referrer" and "no-store" in page["Cache-Control"]
    assert page.content == f"right {len(TOKEN)}".encode()
    assert TOKEN.encode() not in page.content


def test_opening_the_page_does_not_use_the_token_up(client: Client) -> None:
    client.get(f"/a/{TOKEN}/")
    client.get("/a/")
    client.get("/a/")
    assert client.post("/a/").content.startswith(b"right")


def test_the_token_is_used_once(client: Client) -> None:
    client.get(f"/a/{TOKEN}/")
    assert client.post("/a/").content.startswith(b"right")
    assert client.post("/a/").content == b"none"
    assert client.get("/a/").content == b"none"


def test_a_token_brought_for_one_purpose_is_not_seen_by_another(client: Client) -> None:
    client.get(f"/a/{TOKEN}/")
    assert client.get("/b/").content == b"none"
    assert client.post("/b/").content == b"none"
    client.get("/b/other-token/")
    assert client.post("/a/").content.startswith(b"right")
    assert client.post("/b/").content == b"other 11"


def test_a_later_link_of_the_same_purpose_replaces_the_earlier(client: Client) -> None:
    client.get("/a/first-token/")
    client.get(f"/a/{TOKEN}/")
    assert client.post("/a/").content.startswith(b"right")


def test_an_overlong_token_is_cut_before_it_reaches_the_session(client: Client) -> None:
    client.get("/a/" + "x" * 5000 + "/")
    assert client.get("/a/").content == f"other {LINK_TOKEN_MAX_LENGTH}".encode()


def test_another_browser_does_not_get_the_token(client: Client) -> None:
    client.get(f"/a/{TOKEN}/")
    assert Client().post("/a/").content == b"none"


@pytest.mark.urls("threshold.config.urls")
@pytest.mark.parametrize(
    "landing",
    [
        "recover_password_link_token",
        "recover_continue_link",
        "recover_cancel_link",
        "recover_complete_link",
        "security_removal_cancel_link",
    ],
)
def test_every_mailed_link_leaves_its_token_out_of_addresses_and_pages(db: Any, landing: str) -> None:
    client = Client()
    response = client.get(reverse(landing, args=[TOKEN]))
    hops = 0
    while response.status_code in (301, 302) and hops < 5:
        assert response["Referrer-Policy"] == "no-referrer", response.request["PATH_INFO"]
        assert TOKEN not in response["Location"]
        response = client.get(response["Location"])
        hops += 1
    assert hops >= 1
    assert TOKEN.encode() not in response.content
