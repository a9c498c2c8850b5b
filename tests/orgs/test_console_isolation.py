"""Every console page, found by walking the console's urlconf, is closed to the signed-out,
to members, to another organisation's admins (404 for its people) and, where the role table
says so, to helpdesk admins; every POST needs its CSRF token."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern

from tests.conftest import Mailbox
from tests.orgs import console_support as support
from tests.orgs.console_support import World, membership_of, signed_in
from tests.security.conftest import BROWSER_UA, Commits
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.orgs.console import urls as console_urls
from threshold.orgs.models import LicenceTier, Membership, Organization, Role
from threshold.orgs.policies import ROLE_ACTIONS, ConsoleAction

pytestmark = pytest.mark.django_db

# The console's states (fixtures), shared by its test modules.
_english, world, commits = support._english, support.world, support.commits
megan_client, harry_client, adele_client = support.megan_client, support.harry_client, support.adele_client

PATTERNS: list[URLPattern] = [p for p in console_urls.urlpatterns if isinstance(p, URLPattern)]


def _url(pattern: URLPattern, public_id: Any) -> str:
    route = re.sub(r"<uuid:public_id>", str(public_id), str(pattern.pattern))
    assert "<" not in route, f"a console URL with a parameter the test doesn't know: {route}"
    return "/admin-console/" + route


def _takes_member(pattern: URLPattern) -> bool:
    return "<uuid:public_id>" in str(pattern.pattern)


def _allowed_methods(client: Client, url: str) -> set[str]:
    """The methods a console page takes, as it answers them (the ``Allow`` header of its 405).

    Asked of the page itself, never of a list kept here, so a new page is walked as it is.
    """
    response = client.options(url)
    assert response.status_code == 405, (url, response.status_code)
    return {method.strip() for method in response["Allow"].split(",")}


def _state_of(organization: Organization) -> dict[str, Any]:
    """Every row that is the organisation's or one of its people's, table by table.

    Found by walking the models' foreign keys to users and organisations, so a table added
    later is compared too; events about one of its people (as subject) are included.
    """
    people = list(Membership.objects.filter(organization=organization).values_list("user_id", flat=True))
    public_ids = list(User.objects.filter(pk__in=people).values_list("public_id", flat=True))
    state: dict[str, Any] = {
        "users": list(User.objects.filter(pk__in=people).order_by("pk").values()),
        "organization": list(Organization.objects.filter(pk=organization.pk).values()),
        "events about them": list(
            SecurityEvent.objects.filter(subject_public_id__in=public_ids).order_by("pk").values()
        ),
    }
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if not field.concrete or not (field.many_to_one or field.one_to_one):
                continue
            if field.related_model is User:
                rows = model._default_manager.filter(**{f"{field.name}__in": people})
            elif field.related_model is Organization:
                rows = model._default_manager.filter(**{field.name: organization})
            else:
                continue
            state[f"{model._meta.label}.{field.name}"] = list(rows.order_by("pk").values())
    return state


def test_every_console_url_is_a_console_page_with_an_action() -> None:
    """The urlconf is the list the tests below walk; each view declares its console action."""
    assert len(PATTERNS) == len(console_urls.urlpatterns) >= 19
    for pattern in PATTERNS:
        action = getattr(pattern.callback, "console_action", None)
        assert isinstance(action, ConsoleAction), f"{pattern.pattern} is not wrapped in console_page"


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern) or "members")
def test_signed_out_is_sent_to_sign_in(world: World, pattern: URLPattern) -> None:
    url = _url(pattern, membership_of(world.adele, world.contoso).public_id)
    for method in ("get", "post"):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern) or "members")
def test_a_member_gets_403_and_nothing_changes(
    world: World, adele_client: Client, pattern: URLPattern
) -> None:
    target = membership_of(world.harry, world.contoso)
    before = SecurityEvent.objects.exclude(code="account:policy:deny").count()
    url = _url(pattern, target.public_id)
    for method in ("get", "post"):
        response = getattr(adele_client, method)(url, {"role": Role.GLOBAL_ADMIN})
        assert response.status_code == 403, (method, url)
        assert "Only an organization's admins can open the admin console." in html.unescape(
            response.content.decode()
        )
    assert SecurityEvent.objects.exclude(code="account:policy:deny").count() == before
    assert Membership.objects.get(pk=target.pk).role == Role.HELPDESK_ADMIN


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern) or "members")
def test_a_personal_account_and_a_guest_get_403(world: World, pattern: URLPattern) -> None:
    """Alex is a guest in Contoso with a personal account: no home organisation, no console."""
    client = signed_in(world.alex)
    url = _url(pattern, membership_of(world.adele, world.contoso).public_id)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if _takes_member(p)], ids=lambda p: str(p.pattern))
def test_another_organisations_member_is_not_found(
    world: World, megan_client: Client, pattern: URLPattern
) -> None:
    """Contoso's global admin, who may do everything in Contoso, finds no one from Fabrikam."""
    lidia = membership_of(world.lidia, world.fabrikam)
    before = SecurityEvent.objects.filter(user=world.lidia).count()
    url = _url(pattern, lidia.public_id)
    allowed = _allowed_methods(megan_client, url)
    for method in ("get", "post"):
        response = getattr(megan_client, method)(url, {"role": Role.GLOBAL_ADMIN, "minutes": "60"})
        expected = 404 if method.upper() in allowed else 405
        assert response.status_code == expected, (method, url)
    world.lidia.refresh_from_db()
    assert world.lidia.is_active and world.lidia.has_usable_password()
    assert Membership.objects.get(pk=lidia.pk).role == Role.MEMBER
    assert SecurityEvent.objects.filter(user=world.lidia).count() == before


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern) or "members")
def test_pages_of_other_organisations_show_only_their_own(
    world: World, mailbox: Mailbox, commits: Commits, pattern: URLPattern
) -> None:
    """Fabrikam's admin opens every page of their console: nothing of Contoso's is in it. Every
    action they post with a Contoso member's id is not found and changes nothing of Contoso's."""
    world.fabrikam.licence = LicenceTier.PREMIUM  # as Contoso: every page opens (exports are Premium)
    world.fabrikam.save(update_fields=["licence"])
    client = signed_in(world.pradeep)
    own_url = _url(pattern, membership_of(world.lidia, world.fabrikam).public_id)
    methods = _allowed_methods(client, own_url)
    assert methods & {"GET", "POST"}, own_url
    if "GET" in methods:
        response = client.get(own_url)
        assert response.status_code == 200, own_url
        body = response.content.decode()
        assert body.strip(), own_url
        for contoso_thing in (
            "contoso.example",
            "Contoso",
            str(membership_of(world.adele, world.contoso).public_id),
        ):
            assert contoso_thing not in body, (own_url, contoso_thing)
    if "POST" in methods:
        before, events_before = _state_of(world.contoso), SecurityEvent.objects.count()
        mailbox.clear()
        if _takes_member(pattern):
            url = _url(pattern, membership_of(world.adele, world.contoso).public_id)
            with commits(execute=True):
                response = client.post(url, {"role": Role.GLOBAL_ADMIN, "minutes": "60"})
            assert response.status_code == 404, url
            assert SecurityEvent.objects.count() == events_before, url
        else:
            # Fabrikam's own form, filled in with Contoso's people: it may change Fabrikam only.
            with commits(execute=True):
                client.post(own_url, {"email": world.adele.email, "role": Role.GLOBAL_ADMIN})
        assert _state_of(world.contoso) == before, own_url
        contoso_addresses = set(
            Membership.objects.filter(organization=world.contoso).values_list("user__email", flat=True)
        )
        assert not any(mailbox.to(address) for address in contoso_addresses), own_url


@pytest.mark.parametrize(
    "pattern",
    [p for p in PATTERNS if p.callback.console_action not in ROLE_ACTIONS[Role.HELPDESK_ADMIN]],  # type: ignore[attr-defined]
    ids=lambda p: str(p.pattern),
)
def test_a_helpdesk_admin_gets_403_on_global_admin_pages(
    world: World, harry_client: Client, pattern: URLPattern
) -> None:
    url = _url(pattern, membership_of(world.adele, world.contoso).public_id)
    for method in ("get", "post"):
        response = getattr(harry_client, method)(url, {"role": Role.GLOBAL_ADMIN})
        assert response.status_code == 403, (method, url)
    assert membership_of(world.adele, world.contoso).role == Role.MEMBER
    assert Membership.objects.filter(user=world.adele, organization=world.contoso).exists()


def test_the_helpdesk_pages_are_the_role_tables(world: World, harry_client: Client) -> None:
    """What a helpdesk admin reaches is exactly what ROLE_ACTIONS lists, no more."""
    reachable = {p.name for p in PATTERNS if p.callback.console_action in ROLE_ACTIONS[Role.HELPDESK_ADMIN]}  # type: ignore[attr-defined]
    assert reachable == {
        "members",
        "member",
        "reset_password",
        "reset_methods",
        "sign_out",
        "access_pass",
        "block",
        "unblock",
        "sign_ins",
        "sign_ins_export",
        "audit",
        "audit_export",
    }
    assert harry_client.get("/admin-console/").status_code == 200


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: str(p.pattern) or "members")
def test_every_post_needs_the_csrf_token(world: World, pattern: URLPattern) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER_UA)
    # Signing in itself needs the token: take it from the sign-in page as a browser would.
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {
            "login": world.megan.email,
            "password": "correct horse battery staple 42",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    url = _url(pattern, membership_of(world.adele, world.contoso).public_id)
    refused = client.post(url, {"role": Role.GLOBAL_ADMIN})
    assert refused.status_code == 403 and "<h1>This form has expired</h1>" in refused.content.decode()
    world.adele.refresh_from_db()
    assert world.adele.is_active and not world.adele.must_change_password
