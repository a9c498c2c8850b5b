"""An organisation's self-service password reset policy, through the reset pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Mailbox
from tests.orgs.conftest import work_account
from tests.recovery.test_password_reset import NEW_PASSWORD, ask_by_email, choose_password, enter_code, text
from tests.security.conftest import Commits, add_authenticator_app, browser, oathtool_code, sign_in
from threshold.accounts.models import VerificationCode
from threshold.activity.models import SecurityEvent
from threshold.orgs.models import Organization, OrganizationPolicy

pytestmark = pytest.mark.django_db


def set_policy(organization: Organization, **values: Any) -> None:
    OrganizationPolicy.objects.update_or_create(organization=organization, defaults=values)


def test_an_organisation_that_resets_passwords_itself_says_so_for_its_domain(
    contoso: Organization, mailbox: Mailbox
) -> None:
    set_policy(contoso, self_service_password_reset=False)
    contoso.contact = "it-help@contoso.example"
    contoso.save(update_fields=["contact"])
    adele = work_account(contoso, "adele@contoso.example")
    for email in (adele.email, "nobody@contoso.example"):  # the same answer, account or not
        page = browser().post("/recover/password/", {"email": email})
        assert page.status_code == 400
        assert "Your organization resets passwords for you." in text(page)
        assert "it-help@contoso.example" in text(page)
    assert not VerificationCode.objects.exists()
    assert mailbox.to(adele.email) == []


def test_a_member_found_behind_another_domain_gets_no_code(contoso: Organization, mailbox: Mailbox) -> None:
    set_policy(contoso, self_service_password_reset=False)
    member = work_account(contoso, "adele@elsewhere.example")
    sent = ask_by_email(browser(), member.email)
    assert sent.status_code == 302  # the usual answer: "if it is on your account, we sent a code"
    assert not VerificationCode.objects.filter(user=member).exists()
    assert mailbox.to(member.email) == []
    denied = SecurityEvent.objects.get(user=member, code="account:policy:deny")
    assert denied.details["reason"] == "org_forbids_self_service_reset"


def test_allowed_by_default_with_one_method(contoso: Organization, mailbox: Mailbox) -> None:
    adele = work_account(contoso, "adele@contoso.example")
    stranger = browser()
    ask_by_email(stranger, adele.email)
    assert enter_code(stranger, mailbox.last_code(adele.email))["Location"] == "/recover/password/new/"
    assert choose_password(stranger).status_code == 302
    adele.refresh_from_db()
    assert adele.check_password(NEW_PASSWORD)


def test_two_methods_required_asks_for_a_second_one_even_without_two_step(
    contoso: Organization, mailbox: Mailbox, commits: Commits
) -> None:
    set_policy(contoso, reset_methods_required=2)
    adele = work_account(contoso, "adele@contoso.example")
    client = browser()
    sign_in(client, adele)
    secret = add_authenticator_app(client, commits)
    client.post("/accounts/logout/")

    stranger = browser()
    ask_by_email(stranger, adele.email)
    assert enter_code(stranger, mailbox.last_code(adele.email))["Location"] == "/recover/password/verify/"
    choose_password(stranger)
    adele.refresh_from_db()
    assert not adele.check_password(NEW_PASSWORD)  # the second method is not optional
    verified = stranger.post("/recover/password/verify/", {"code": oathtool_code(secret)})
    assert verified.status_code == 302 and verified["Location"] == "/recover/password/new/"
    assert choose_password(stranger)["Location"] == "/accounts/login/"
    adele.refresh_from_db()
    assert adele.check_password(NEW_PASSWORD)


def test_two_methods_required_without_a_second_method_fails_closed(
    contoso: Organization, mailbox: Mailbox
) -> None:
    set_policy(contoso, reset_methods_required=2)
    adele = work_account(contoso, "adele@contoso.example")
    stranger = browser()
    ask_by_email(stranger, adele.email)
    enter_code(stranger, mailbox.last_code(adele.email))
    page = stranger.get("/recover/password/verify/")
    assert page.status_code == 302 and page["Location"] == "/recover/"
    choose_password(stranger)
    adele.refresh_from_db()
    assert not adele.check_password(NEW_PASSWORD)
