"""The organisation's sign-in log and audit log: scoped to its accounts, filtered, exported as CSV
(the sign-in report export is a Premium feature), and only the event types marked org-visible."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.orgs import console_support as support
from tests.orgs.console_support import World, member_url, signed_in
from tests.security.conftest import browser, sign_in
from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.orgs.models import LicenceTier

pytestmark = pytest.mark.django_db

_english, world, commits = support._english, support.world, support.commits
megan_client, harry_client = support.megan_client, support.harry_client


def page_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.content.decode())


def table_of(page: str) -> str:
    """The rows of the log's table ("" when it has none), without the filters' options."""
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""


@pytest.fixture
def history(world: World) -> None:
    """Sign-ins and a failure for Adele (Contoso) and Lidia (Fabrikam), and an admin action."""
    signed_in(world.adele)
    assert sign_in(browser(), world.adele, "wrong password").status_code == 200
    signed_in(world.lidia)
    assert sign_in(browser(), world.lidia, "wrong password").status_code == 200


def test_the_sign_in_log_lists_only_the_organisations_accounts(
    world: World, history: None, megan_client: Client
) -> None:
    page = page_of(megan_client, "/admin-console/sign-ins/")
    assert "adele@contoso.example" in page and "Sign-in failed: wrong password" in page
    assert "lidia@fabrikam.example" not in page and "fabrikam" not in page.lower()
    fabrikam = page_of(signed_in(world.pradeep), "/admin-console/sign-ins/")
    assert "lidia@fabrikam.example" in fabrikam and "adele@contoso.example" not in fabrikam


def test_the_sign_in_log_filters_by_person_result_event_and_dates(
    world: World, history: None, megan_client: Client
) -> None:
    failures = table_of(page_of(megan_client, "/admin-console/sign-ins/?result=failure"))
    assert "Sign-in failed: wrong password" in failures and "<td>Signed in" not in failures
    only_adele = page_of(megan_client, "/admin-console/sign-ins/?person=adele")
    assert "adele@contoso.example" in only_adele and "megan@contoso.example</td>" not in only_adele
    by_code = table_of(page_of(megan_client, "/admin-console/sign-ins/?code=account:signin:failure"))
    assert "Sign-in failed: wrong password" in by_code and "<td>Signed in" not in by_code
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    future = page_of(megan_client, f"/admin-console/sign-ins/?start={tomorrow}")
    assert "Nothing matches these filters." in future
    backwards = page_of(megan_client, f"/admin-console/sign-ins/?start={tomorrow}&end=2020-01-01")
    assert "The end date is before the start date." in backwards


def test_the_audit_log_reads_the_same_rows_as_the_members_activity(
    world: World, megan_client: Client, commits: Any
) -> None:
    with commits(execute=True):
        megan_client.post(member_url(world.adele, world.contoso, "sign-out"))
        megan_client.post(member_url(world.alex, world.contoso, "remove"))  # a guest
    page = page_of(megan_client, "/admin-console/audit/")
    assert "Signed out everywhere by an admin" in page and "adele@contoso.example" in page
    assert "Removed from the organization by an admin" in page and "alex@example.com" in page
    assert "megan@contoso.example" in page  # the acting admin
    # Alex's own later activity, as a personal account, is not Contoso's business.
    record_event("account:profile:update", user=world.alex)
    assert page.count("alex@example.com") == page_of(megan_client, "/admin-console/audit/").count(
        "alex@example.com"
    )
    assert "adele@contoso.example" not in page_of(signed_in(world.pradeep), "/admin-console/audit/")


def test_event_types_not_org_visible_stay_out(
    world: World, megan_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_event("account:profile:update", user=world.adele)
    assert "Profile updated" in page_of(megan_client, "/admin-console/audit/")
    hidden = catalog.EventType(
        "account:profile:update",
        catalog.get("account:profile:update").label,
        catalog.Category.CHANGE,
        org_visible=False,
    )
    monkeypatch.setitem(catalog.CATALOG, "account:profile:update", hidden)
    assert "Profile updated" not in page_of(megan_client, "/admin-console/audit/")


def test_the_log_pages_by_keyset(world: World, megan_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from threshold.orgs.console import selectors

    for _ in range(5):
        record_event("account:signin:failure", user=world.adele, result=Result.FAILURE)
    first = selectors.log_page(world.contoso, selectors.Log.SIGN_INS, selectors.LogFilter(), size=2)
    second = selectors.log_page(
        world.contoso, selectors.Log.SIGN_INS, selectors.LogFilter(), cursor=first.next_cursor or "", size=2
    )
    assert first.next_cursor and second.next_cursor
    assert not {e.pk for e in first.events} & {e.pk for e in second.events}
    page = page_of(megan_client, "/admin-console/sign-ins/")
    assert "Older" not in page  # 6 rows fit one page of 50


def rows_of(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_sign_in_report_export_is_premium(world: World, history: None, megan_client: Client) -> None:
    response = megan_client.get("/admin-console/sign-ins/export.csv?result=failure")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="contoso-sign-ins-' in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows and {r["person"] for r in rows} == {"adele@contoso.example"}
    assert {r["result"] for r in rows} == {"failure"}
    # Standard: the page says so, and the export is refused.
    world.contoso.licence = LicenceTier.STANDARD
    world.contoso.save(update_fields=["licence"])
    page = page_of(megan_client, "/admin-console/sign-ins/")
    assert "Available with Premium." in page and "export.csv" not in page
    refused = megan_client.get("/admin-console/sign-ins/export.csv")
    assert refused.status_code == 403 and "Available with Premium." in html.unescape(refused.content.decode())


def test_the_audit_export_is_in_every_tier_and_defuses_formulas(world: World, megan_client: Client) -> None:
    world.contoso.licence = LicenceTier.STANDARD
    world.contoso.save(update_fields=["licence"])
    record_event("account:profile:update", user=world.adele, context=None, details={"from": "=cmd()"})
    SecurityEvent.objects.filter(code="account:profile:update").update(device_label='=HYPERLINK("x")')
    response = megan_client.get("/admin-console/audit/export.csv")
    assert response.status_code == 200
    rows = rows_of(response)
    assert any(r["event"] == "Profile updated" for r in rows)
    assert all(not r["device"].startswith("=") for r in rows)
    assert any(r["device"].startswith("'=") for r in rows)


def test_a_helpdesk_admin_reads_the_logs(world: World, history: None, harry_client: Client) -> None:
    assert "adele@contoso.example" in page_of(harry_client, "/admin-console/sign-ins/")
    assert harry_client.get("/admin-console/audit/export.csv").status_code == 200


EXTREME_DATES = ["end=9999-12-31", "start=9999-12-31", "start=0001-01-01", "end=0001-01-01", "end=2026-02-30"]


@pytest.mark.parametrize("query", EXTREME_DATES)
@pytest.mark.parametrize("url", ["/admin-console/sign-ins/", "/admin-console/audit/"])
def test_an_extreme_or_impossible_date_on_a_log_is_the_forms_own_error(
    world: World, history: None, megan_client: Client, url: str, query: str
) -> None:
    response = megan_client.get(f"{url}?{query}")
    assert response.status_code == 200
    assert 'class="field__error"' in response.content.decode()


@pytest.mark.parametrize("query", EXTREME_DATES)
@pytest.mark.parametrize("url", ["/admin-console/sign-ins/export.csv", "/admin-console/audit/export.csv"])
def test_an_extreme_or_impossible_date_on_an_export_is_a_400_that_says_why(
    world: World, history: None, megan_client: Client, url: str, query: str
) -> None:
    response = megan_client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert 'class="field__error"' in response.content.decode()
