"""The staff admin (/staff/) signs in like everyone else.

Every /staff/ URL, found by walking the staff site's urlconf, is closed to the signed-out (sent
to the portal's sign-in), to people who are not staff, to a staff member whose session did not
prove a passkey or whose account has none; it opens for a staff member signed in with their
passkey, and a change there needs that passkey again from the last 10 minutes. Each change is
on the operator's Recent activity and on the account it touched.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver

from tests.accounts.test_commands import OWN_PASSWORD, create_admin
from tests.config.staff_support import make_operator, signed_in_with_passkey, staff_operator, with_passkey
from tests.conftest import PASSWORD, Clock, Mailbox, make_user
from tests.recovery.test_access_pass import issue, pass_signed_in, use_pass
from tests.recovery.test_recovery_requests import CONTACT, NEW_PASSWORD, queue
from tests.security.conftest import (
    Commits,
    Person,
    add_authenticator_app,
    add_passkey,
    browser,
    json_block,
    oathtool_code,
    sign_in,
    turn_on_two_step,
    verify,
)
from tests.verification.test_throttle import WRONG, wait_asked
from threshold.accounts.models import Organization, User
from threshold.activity.models import SecurityEvent
from threshold.recovery.models import RecoveryStatus, TemporaryAccessPass

pytestmark = pytest.mark.django_db


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            found.append((prefix + str(pattern.pattern), pattern))
    return found


ROUTES = _walk(admin.site.get_urls())
# The portal's sign-in and sign-out stand behind these two; they have tests of their own below.
PORTAL_PAGES = ("login/", "logout/")
GUARDED = [(route, pattern) for route, pattern in ROUTES if route not in PORTAL_PAGES]


@dataclass
class Objects:
    """One row of every model the staff admin shows, each about Ada (the person staff act on)."""

    ada: Person
    by_model: dict[str, Model]

    def url(self, route: str) -> str:
        """``route`` made a real URL: every parameter filled with a row that exists."""
        path = route
        if "(?P<app_label>" in path:
            path = "orgs/"
        elif path == "(?P<url>.*)$":
            path = "nothing-here/"
        elif path.startswith("r/<path:content_type_id>/"):
            organization = self.by_model["orgs.organization"]
            content_type = ContentType.objects.get_for_model(organization)
            path = f"r/{content_type.pk}/{organization.pk}/"
        elif "<path:object_id>" in path:
            label = ".".join(path.split("/")[:2])
            row = self.by_model.get(label)
            # A model with no row here (tasks) is asked about one that does not exist.
            path = path.replace("<path:object_id>", str(row.pk if row is not None else 999999))
        assert "<" not in path and "(?" not in path, (
            f"a staff URL with a parameter the test doesn't fill: {route}"
        )
        return "/staff/" + path

    def every_request(self) -> list[tuple[str, str]]:
        """Every guarded staff URL, as a GET and as a POST."""
        return [(self.url(route), method) for route, _pattern in GUARDED for method in ("get", "post")]


@pytest.fixture
def objects(person: Person, mailbox: Mailbox, commits: Commits) -> Objects:
    access_pass, _plain = issue(person.user, commits)
    recovery = queue(browser(), mailbox, commits)
    passkey = with_passkey(make_user("grace@example.com"), commits).passkey
    assert passkey is not None and passkey.authenticator is not None
    return Objects(
        ada=person,
        by_model={
            "orgs.organization": Organization.objects.create(name="Contoso", slug="contoso"),
            "recovery.temporaryaccesspass": access_pass,
            "recovery.accountrecovery": recovery,
            "auth.group": Group.objects.create(name="Support"),
            "account.emailaddress": EmailAddress.objects.get(user=person.user),
            "mfa.authenticator": Authenticator.objects.get(pk=passkey.authenticator.pk),
            "usersessions.usersession": UserSession.objects.filter(user=person.user).first(),  # type: ignore[dict-item]
        },
    )


def _state() -> dict[str, Any]:
    """Every row the staff admin could change, and every security event but sign-in bookkeeping."""
    state: dict[str, Any] = {}
    for model in admin.site._registry:
        rows = list(model._default_manager.order_by("pk").values())
        for row in rows:
            row.pop("last_seen_at", None)  # a session's last request, moved by the test's own requests
            row.pop("data", None) if model is UserSession else None
        state[model._meta.label] = rows
    state["events"] = list(
        SecurityEvent.objects.exclude(code__startswith="account:signin")
        .order_by("pk")
        .values_list("code", "user_id")
    )
    return state


# Whatever could change something, posted to every URL: a deletion confirmed, the revoke and
# delete actions, a decision, a form's fields.
ATTEMPT = {
    "post": "yes",
    "action": "delete_selected",
    "_selected_action": ["1", "2", "3"],
    "decision": "approve",
    "note": "",
    "name": "Changed",
    "licence": "premium",
}


def _refused(response: Any) -> bool:
    return response.status_code == 403 and any(t.name == "staff/refused.html" for t in response.templates)


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_the_walk_covers_the_staff_site() -> None:
    """Every model admin the site has (allauth's and the task queue's too) is in the walk."""
    routes = [route for route, _ in GUARDED]
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}/{model._meta.model_name}/"
        assert f"{prefix}<path:object_id>/change/" in routes, prefix
    assert "recovery/accountrecovery/<path:object_id>/decide/" in routes
    assert len(GUARDED) >= 55


def test_signed_out_is_sent_to_the_portal_sign_in(objects: Objects) -> None:
    before = _state()
    for url, method in objects.every_request():
        response = getattr(Client(), method)(url, ATTEMPT)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/?next=%2Fstaff%2F"), (method, url)
    assert _state() == before


def test_someone_who_is_not_staff_is_refused(objects: Objects) -> None:
    before = _state()
    for url, method in objects.every_request():
        response = getattr(objects.ada.client, method)(url, ATTEMPT)
        assert _refused(response), (method, url, response.status_code)
        assert "This page is for Threshold's staff." in _text(response)
    assert _state() == before


@pytest.fixture
def password_only_operator(commits: Commits) -> Person:
    """A staff member with a passkey, in the session that signed in with the password alone."""
    return with_passkey(make_operator(), commits)


def test_a_password_only_session_is_refused(objects: Objects, password_only_operator: Person) -> None:
    before = _state()
    for url, method in objects.every_request():
        response = getattr(password_only_operator.client, method)(url, ATTEMPT)
        assert _refused(response), (method, url, response.status_code)
        assert "Confirm it's you with your passkey to continue." in _text(response)
    assert _state() == before


def test_a_staff_member_without_a_passkey_is_refused(objects: Objects) -> None:
    operator = make_operator()
    client = browser()
    assert sign_in(client, operator).status_code == 302
    before = _state()
    for url, method in objects.every_request():
        response = getattr(client, method)(url, ATTEMPT)
        assert _refused(response), (method, url, response.status_code)
        assert "needs a passkey or security key on your account. Add one on Security info" in _text(response)
    assert _state() == before


@pytest.fixture
def operator(commits: Commits) -> Person:
    return staff_operator(commits)


def test_a_staff_member_signed_in_with_a_passkey_is_let_in(objects: Objects, operator: Person) -> None:
    opened = 0
    for route, _pattern in GUARDED:
        url = objects.url(route)
        response = operator.client.get(url)
        assert not _refused(response), url
        location = response.get("Location", "")
        assert not location.startswith(("/accounts/login/", "/accounts/2fa/webauthn/reauthenticate/")), url
        if route.endswith(("/change/", "/history/")) and "dbtaskresult" not in route:
            assert response.status_code == 200, (url, response.status_code)
        opened += response.status_code == 200
    assert opened >= 30


def test_a_change_with_a_stale_sign_in_asks_for_the_passkey_and_changes_nothing(
    objects: Objects, operator: Person, clock: Clock
) -> None:
    clock.advance(10 * 60 + 1)
    before = _state()
    for route, _pattern in GUARDED:
        url = objects.url(route)
        response = operator.client.post(url, ATTEMPT)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/2fa/webauthn/reauthenticate/?next=%2Fstaff%2F"), url
    assert _state() == before
    # Reading is still open: the session did prove the passkey at sign-in.
    assert not _refused(operator.client.get("/staff/"))


def test_every_change_needs_its_csrf_token(objects: Objects, operator: Person) -> None:
    forger = browser(enforce_csrf_checks=True)
    forger.cookies = operator.client.cookies
    before = _state()
    for route, _pattern in [*GUARDED, ("logout/", None)]:
        url = objects.url(route)
        response = forger.post(url, ATTEMPT)
        assert response.status_code == 403, url
        assert not _refused(response), url  # Django's CSRF refusal, before any staff check
    assert _state() == before
    assert operator.client.get("/staff/").status_code == 200  # still signed in


# --- The portal's sign-in, second step and sign-out ---------------------------------------------------


def test_the_staff_login_page_is_the_portal_sign_in_and_checks_no_password(operator: Person) -> None:
    """Before: /staff/login/ was Django's form, and the right password alone signed in."""
    client = browser()
    response = client.get("/staff/")
    assert response["Location"] == "/accounts/login/?next=%2Fstaff%2F"
    response = client.post(
        "/staff/login/?next=/staff/recovery/", {"username": operator.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fstaff%2Frecovery%2F"
    assert client.get("/").status_code == 302  # the password posted there signed nobody in
    # A next that leaves the site is not followed.
    assert (
        Client().get("/staff/login/?next=https://evil.example/")["Location"]
        == "/accounts/login/?next=%2Fstaff%2F"
    )


def test_wrong_passwords_on_the_way_into_the_staff_admin_are_throttled(operator: Person) -> None:
    """Before: 30 wrong passwords at /staff/login/ in 3 s were all answered."""
    answered = throttled = 0
    for _ in range(30):
        client = Client()
        sign_in_url = client.get("/staff/")["Location"]
        response = client.post(sign_in_url, {"login": operator.user.email, "password": WRONG})
        assert response.status_code == 200
        if wait_asked(response) is None:
            answered += 1
        else:
            throttled += 1
    assert throttled > 0 and answered < 30
    assert SecurityEvent.objects.filter(
        code__startswith="account:signin:throttled", user=operator.user
    ).exists()


def test_the_password_alone_does_not_open_the_staff_admin_even_with_two_step_on(commits: Commits) -> None:
    """The operator's two-step verification is on with an authenticator app and a passkey; a
    second step done with the app or a recovery code is not the passkey the staff admin asks for."""
    person = with_passkey(make_operator(), commits)
    secret = add_authenticator_app(person.client, commits)
    codes = turn_on_two_step(person.client, commits)

    client = browser()
    assert sign_in(client, person.user)["Location"].startswith("/security/verify")  # the second step first
    response = verify(client, oathtool_code(secret), method="app")
    assert response.status_code == 302, _text(response)[:2000]
    assert client.get("/").status_code == 200
    refused = client.get("/staff/")
    assert _refused(refused) and "made without it" in _text(refused)

    # Nor is a recovery code.
    client = browser()
    sign_in(client, person.user)
    with commits(execute=True):
        assert verify(client, codes[0], method="recovery-code").status_code == 302
    assert client.get("/").status_code == 200
    assert _refused(client.get("/staff/"))

    # The passkey as the second step opens it.
    client = browser()
    sign_in(client, person.user)
    page = client.get("/security/verify/?method=passkey")
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"])
    response = client.post("/security/verify/", {"method": "passkey", "credential": json.dumps(answer)})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200


def test_a_temporary_access_pass_session_is_refused(commits: Commits) -> None:
    person = with_passkey(make_operator(), commits)
    _pass, plain = issue(person.user, commits)
    client = browser()
    with commits(execute=True):
        use_pass(client, person.user.email, plain)
    assert pass_signed_in(client)
    response = client.get("/staff/")
    # The pass's session reaches only its set-up page, and the staff admin refuses it anyway.
    assert response.status_code in (302, 403)
    assert not response.get("Location", "").startswith("/staff/")
    if response.status_code == 403:
        assert _refused(response)


def test_an_approved_recovery_of_a_staff_account_does_not_open_the_staff_admin(
    operator: Person, mailbox: Mailbox, commits: Commits
) -> None:
    """Whoever completes an approved recovery of an operator's account, and adds a passkey of
    their own in that session, still does not get /staff/ from it."""
    victim = with_passkey(make_operator("second.operator@threshold.example"), commits)
    recovery = queue(browser(), mailbox, commits, account=victim.user.email)
    mailbox.clear()
    with commits(execute=True):
        decided = operator.client.post(
            f"/staff/recovery/accountrecovery/{recovery.pk}/decide/", {"decision": "approve"}
        )
    assert decided.status_code == 302
    approved = next(m for m in mailbox.to(CONTACT) if "approved" in m["Subject"])
    link = re.search(r"https?://\S+(/recover/complete/\S+/)", Mailbox.text(approved))
    assert link
    taker = browser()
    taker.get(link.group(1))
    with commits(execute=True):
        assert taker.post("/recover/complete/", {"password1": NEW_PASSWORD})["Location"] == "/security/"
    intruder = Person(user=victim.user, client=taker)
    add_passkey(taker, intruder.authenticator, commits, name="Intruder passkey")
    page = taker.get("/accounts/2fa/webauthn/reauthenticate/?next=/staff/")
    answer = intruder.authenticator.get(json_block(page, "passkey-options")["request_options"])
    taker.post("/accounts/2fa/webauthn/reauthenticate/?next=/staff/", {"credential": json.dumps(answer)})
    refused = taker.get("/staff/")
    assert _refused(refused)
    assert "You signed in with a Temporary Access Pass or an account recovery." in _text(refused)


def test_a_password_session_that_confirms_the_passkey_is_let_in(password_only_operator: Person) -> None:
    person = password_only_operator
    refused = person.client.get("/staff/")
    assert _refused(refused)
    link = re.search(r'href="(/accounts/2fa/webauthn/reauthenticate/\?next=[^"]+)"', refused.content.decode())
    assert link, "the refusal offers the passkey"
    page = person.client.get(html.unescape(link.group(1)))
    answer = person.authenticator.get(json_block(page, "passkey-options")["request_options"])
    response = person.client.post(html.unescape(link.group(1)), {"credential": json.dumps(answer)})
    assert response["Location"] == "/staff/"
    assert person.client.get("/staff/").status_code == 200


def test_signing_out_of_the_staff_admin_is_the_portal_sign_out(operator: Person) -> None:
    page = operator.client.get("/staff/")
    assert 'action="/staff/logout/"' in page.content.decode()
    assert "Sign out" in _text(operator.client.get("/staff/logout/"))  # a GET only asks
    assert operator.client.get("/staff/").status_code == 200
    response = operator.client.post("/staff/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert operator.client.get("/")["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(code="account:signout", user=operator.user).exists()


# --- Changes: the passkey again, then back, and recorded ------------------------------------------


def test_a_stale_decision_asks_for_the_passkey_then_comes_back_and_is_recorded_on_both_activities(
    objects: Objects, operator: Person, clock: Clock, commits: Commits, mailbox: Mailbox
) -> None:
    recovery = objects.by_model["recovery.accountrecovery"]
    change = f"/staff/recovery/accountrecovery/{recovery.pk}/change/"
    decide = f"/staff/recovery/accountrecovery/{recovery.pk}/decide/"
    assert operator.client.get(change).status_code == 200
    clock.advance(11 * 60)
    response = operator.client.post(decide, {"decision": "approve"}, HTTP_REFERER=f"http://localhost{change}")
    assert response["Location"] == "/accounts/2fa/webauthn/reauthenticate/?next=" + change.replace("/", "%2F")
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.WAITING  # type: ignore[attr-defined]

    page = operator.client.get(response["Location"])
    assert "changes in the staff admin need one from the last 10 minutes" in _text(page)
    answer = operator.authenticator.get(json_block(page, "passkey-options")["request_options"])
    response = operator.client.post(response["Location"], {"credential": json.dumps(answer)})
    assert response["Location"] == change
    with commits(execute=True):
        response = operator.client.post(decide, {"decision": "approve", "note": "Matches."})
    assert response["Location"] == change
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.READY  # type: ignore[attr-defined]

    mine = SecurityEvent.objects.get(code="staff:change", user=operator.user)
    assert mine.details["action"] == "approved" and mine.details["account"] == "ada@example.com"
    theirs = SecurityEvent.objects.get(code="account:recovery:approve", user=objects.ada.user)
    assert theirs.actor_label == operator.user.email
    assert "Change made in the staff admin" in _text(operator.client.get("/activity/"))


def test_editing_a_persons_row_is_on_their_activity_with_the_operator_as_actor(
    objects: Objects, operator: Person
) -> None:
    address = objects.by_model["account.emailaddress"]
    url = f"/staff/account/emailaddress/{address.pk}/change/"
    response = operator.client.post(
        url, {"user": objects.ada.user.pk, "email": "ada@example.com", "verified": "", "primary": "on"}
    )
    assert response.status_code == 302, _text(response)[:3000]
    assert not EmailAddress.objects.get(pk=address.pk).verified
    mine = SecurityEvent.objects.get(code="staff:change", user=operator.user)
    assert mine.details == {
        "action": "changed",
        "what": "account.emailaddress",
        "target": "ada@example.com",
        "account": "ada@example.com",
    }
    theirs = SecurityEvent.objects.get(code="staff:account:change", user=objects.ada.user)
    assert theirs.actor_label == operator.user.email and theirs.details["action"] == "changed"
    assert "Our support team changed your account" in _text(objects.ada.client.get("/activity/"))


def test_revoking_a_pass_and_changing_a_licence_are_recorded(objects: Objects, operator: Person) -> None:
    access_pass = objects.by_model["recovery.temporaryaccesspass"]
    response = operator.client.post(
        "/staff/recovery/temporaryaccesspass/",
        {"action": "revoke", "_selected_action": [str(access_pass.pk)]},
    )
    assert response.status_code == 302
    assert TemporaryAccessPass.objects.get(pk=access_pass.pk).revoked_at is not None
    revoked = SecurityEvent.objects.get(code="staff:change", user=operator.user, details__action="revoked")
    assert revoked.details["account"] == "ada@example.com"
    assert SecurityEvent.objects.get(code="account:access_pass:revoke").actor_label == operator.user.email

    organization = objects.by_model["orgs.organization"]
    data = {
        "name": "Contoso",
        "slug": "contoso",
        "licence": "premium",
        "verified_domains": "[]",
        "contact": "",
        "accent_colour": "",
        "sign_in_text": "",
        "policy-TOTAL_FORMS": "0",
        "policy-INITIAL_FORMS": "0",
        "policy-MIN_NUM_FORMS": "0",
        "policy-MAX_NUM_FORMS": "1",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = operator.client.post(f"/staff/orgs/organization/{organization.pk}/change/", data)
    assert response.status_code == 302, _text(response)[:3000]
    changed = SecurityEvent.objects.get(code="staff:change", user=operator.user, details__action="changed")
    assert changed.details["what"] == "orgs.organization" and changed.details["target"] == "Contoso"
    assert "account" not in changed.details


def test_a_membership_added_inline_is_on_the_members_activity(objects: Objects, operator: Person) -> None:
    organization = objects.by_model["orgs.organization"]
    data = {
        "name": "Contoso",
        "slug": "contoso",
        "licence": "standard",
        "verified_domains": "[]",
        "contact": "",
        "accent_colour": "",
        "sign_in_text": "",
        "policy-TOTAL_FORMS": "0",
        "policy-INITIAL_FORMS": "0",
        "policy-MIN_NUM_FORMS": "0",
        "policy-MAX_NUM_FORMS": "1",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-user": str(objects.ada.user.pk),
        "memberships-0-role": "global_admin",
        "memberships-0-organization": str(organization.pk),
        "memberships-0-created_at_0": "2026-01-05",
        "memberships-0-created_at_1": "09:00:00",
    }
    response = operator.client.post(f"/staff/orgs/organization/{organization.pk}/change/", data)
    assert response.status_code == 302, re.findall(
        r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', _text(response), re.S
    )
    theirs = SecurityEvent.objects.get(code="staff:account:change", user=objects.ada.user)
    assert theirs.details["what"] == "orgs.membership" and theirs.details["action"] == "added"
    assert theirs.actor_label == operator.user.email
    assert SecurityEvent.objects.filter(
        code="staff:change", user=operator.user, details__what="orgs.membership"
    )


def test_the_operator_of_createadmin_adds_a_passkey_before_the_staff_admin_opens(commits: Commits) -> None:
    """The README's steps: createadmin, own password, a passkey on Security info, sign in with it."""
    password, text = create_admin("root@example.com")
    assert "The staff admin (/staff/) opens once you add a passkey or security key on Security info" in text
    client = browser()
    sign_in(client, User.objects.get(email="root@example.com"), password)
    client.post("/accounts/password/change/", {"oldpassword": password, "password1": OWN_PASSWORD})
    refused = client.get("/staff/")
    assert _refused(refused) and "Add one on Security info" in _text(refused)
    user = User.objects.get(email="root@example.com")
    person = Person(user=user, client=client)
    person.passkey = add_passkey(client, person.authenticator, commits)
    assert _refused(client.get("/staff/"))  # this session signed in with the password alone
    assert signed_in_with_passkey(person).client.get("/staff/").status_code == 200
