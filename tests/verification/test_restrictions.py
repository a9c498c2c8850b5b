"""The registry of session restrictions: each keeps its own pages open, sends everything else to
its page, and they compose in their documented order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from tests.conftest import PASSWORD, join_as_work_account, make_user
from threshold.accounts.models import User
from threshold.orgs.models import Organization, OrganizationPolicy
from threshold.recovery.models import TemporaryAccessPass
from threshold.recovery.services.access_pass import issue_access_pass
from threshold.verification.restrictions import (
    ORDER,
    Restriction,
    register_restriction,
    response_for,
    restrictions,
)

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    return client


def pass_signed_in(user: User) -> Client:
    _, plain = issue_access_pass(user=user, issued_by=None, request=None)
    client = Client()
    response = client.post("/recover/access-pass/", {"email": user.email, "access_pass": plain})
    assert response["Location"] == "/recover/set-up/"
    return client


def must_change_password() -> tuple[User, Client]:
    user = make_user()
    client = signed_in(user)
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    return user, client


def account_closing() -> tuple[User, Client]:
    user = make_user()
    client = signed_in(user)
    user.closes_at = timezone.now() + timedelta(days=60)
    user.closure_requested_at = timezone.now()
    user.save(update_fields=["closes_at", "closure_requested_at"])
    return user, client


def access_pass() -> tuple[User, Client]:
    user = make_user()
    return user, pass_signed_in(user)


def access_pass_ended() -> tuple[User, Client]:
    user = make_user()
    client = pass_signed_in(user)
    TemporaryAccessPass.objects.filter(user=user).update(revoked_at=timezone.now())
    return user, client


def required_set_up() -> tuple[User, Client]:
    contoso = Organization.objects.create(
        name="Contoso", slug="contoso", verified_domains=["contoso.example"]
    )
    # No grace period: the set-up cannot be skipped.
    OrganizationPolicy.objects.create(organization=contoso, require_two_step=True, two_step_grace_days=0)
    user = join_as_work_account(make_user("megan@contoso.example"), contoso)
    client = Client()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    return user, client


# A session each restriction applies to (and no restriction before it in the order does).
SESSIONS: dict[str, Callable[[], tuple[User, Client]]] = {
    "access_pass_ended": access_pass_ended,
    "must_change_password": must_change_password,
    "account_closing": account_closing,
    "access_pass": access_pass,
    "required_set_up": required_set_up,
}


def request_for(path: str, user: User, client: Client, method: str = "get") -> HttpRequest:
    """A request of this client's session, as the middleware sees it; a copy of the session, so
    a restriction that ends it ends only the copy."""
    request = getattr(RequestFactory(), method)(path)
    stored = client.session
    session: SessionBase = type(stored)()
    session.update(dict(stored.items()))
    request.session = session
    request.user = user
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def every_page() -> list[tuple[str, str]]:
    """Every named page of the portal that takes no arguments: (name, path)."""
    pages = {}
    for name in get_resolver().reverse_dict:
        if isinstance(name, str):
            try:
                pages[name] = reverse(name)
            except NoReverseMatch:
                continue
    return sorted(pages.items())


def test_every_restriction_has_its_place_in_the_order_and_a_session_here() -> None:
    assert [r.name for r in restrictions()] == list(ORDER)
    assert set(SESSIONS) == set(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_a_restriction_leaves_its_pages_open_and_sends_everything_else_to_its_page(name: str) -> None:
    restriction: Restriction = next(r for r in restrictions() if r.name == name)
    user, client = SESSIONS[name]()
    user.refresh_from_db()
    open_seen = sent_seen = 0
    for url_name, path in every_page():
        request = request_for(path, user, client)
        assert restriction.applies(request), path
        response = response_for(request)
        if restriction.leaves_open(path, lambda url_name=url_name: url_name):  # type: ignore[misc]
            assert response is None, path
            open_seen += 1
        else:
            assert response is not None, path
            assert response.status_code == 302 and response["Location"] == restriction.page_path, path
            sent_seen += 1
    # The assets stay open under every restriction but the session's end.
    assert response_for(request_for("/static/threshold.css", user, client)) is None
    assert sent_seen > 0 and (open_seen > 0 or not (restriction.open_pages or restriction.open_below))


@pytest.mark.parametrize("name", ORDER)
def test_the_middleware_serves_the_restriction_to_the_person(name: str) -> None:
    restriction = next(r for r in restrictions() if r.name == name)
    _, client = SESSIONS[name]()
    for method in ("get", "post"):
        response = getattr(client, method)("/devices/")
        assert response.status_code == 302 and response["Location"] == restriction.page_path, method
        if name == "access_pass_ended":
            break  # the session ended with the first request


def test_the_earlier_restriction_sends_first_and_the_later_one_leaves_its_page_open() -> None:
    """A pass session of an account that must change its password: first the new password,
    then the set-up; the change-password page is not sent on to the set-up page."""
    user, client = access_pass()
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    assert client.get("/devices/")["Location"] == reverse("account_change_password")
    assert client.get(reverse("account_change_password")).status_code == 200
    # A page only the later one leaves open is held by the earlier one; a page the earlier one
    # leaves open but that is not its page stays with the later one.
    assert client.get(reverse("security_info"))["Location"] == reverse("account_change_password")
    assert client.get(reverse("account_reauthenticate"))["Location"] == reverse("recovery_set_up")
    user.must_change_password = False
    user.save(update_fields=["must_change_password"])
    assert client.get("/devices/")["Location"] == reverse("recovery_set_up")
    assert client.get(reverse("account_change_password"))["Location"] == reverse("recovery_set_up")


def test_a_closing_account_that_must_change_its_password_changes_it_then_reopens() -> None:
    user, client = account_closing()
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    assert client.get("/devices/")["Location"] == reverse("account_change_password")
    assert client.get(reverse("account_change_password")).status_code == 200
    assert client.get(reverse("account_reopen"))["Location"] == reverse("account_change_password")
    user.must_change_password = False
    user.save(update_fields=["must_change_password"])
    assert client.get(reverse("account_change_password"))["Location"] == reverse("account_reopen")


def test_an_ended_pass_ends_the_session_even_on_the_pages_earlier_restrictions_leave_open() -> None:
    user, client = access_pass_ended()
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    assert client.get(reverse("account_change_password"))["Location"] == reverse("account_login")
    assert "_auth_user_id" not in client.session


def test_a_name_outside_the_order_is_refused() -> None:
    with pytest.raises(ValueError, match="no place"):
        register_restriction(
            Restriction(name="somewhere_else", applies=lambda request: True, page="overview")
        )
    with pytest.raises(ValueError, match="twice"):
        register_restriction(restrictions()[0])
