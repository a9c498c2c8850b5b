"""No staff admin page shows a secret, a hash, a token or a code.

Accounts are seeded in every state that stores one (authenticator app, passkey, recovery
codes, trusted browser, sessions, an access pass, a recovery request's links, an invitation,
a queued task's arguments); then every model registered on the staff admin is opened as a
superuser, its list and each row's page, and none of those values may appear.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.config.staff_support import staff_operator
from tests.conftest import make_user
from tests.core.stored_secrets import secret_fields, stored_secrets
from tests.security.conftest import (  # noqa: F401 - the fixtures, shared security states
    Commits,
    Person,
    add_passkey,
    browser,
    commits,
    oathtool_code,
    person,
    sign_in,
    user_with_totp,
    user_with_two_step,
    verify,
)
from threshold.orgs.models import Invitation, Membership, Organization
from threshold.recovery.models import AccountRecovery, RecoveryKind
from threshold.recovery.services.access_pass import issue_access_pass

pytestmark = pytest.mark.django_db

TASK_CODE = "Your code is 493817"


@pytest.fixture
def seeded(user_with_two_step: Person, commits: Commits) -> dict[str, Any]:  # noqa: F811 - fixtures
    ada = user_with_two_step
    add_passkey(ada.client, ada.authenticator, commits, name="Laptop passkey")
    laptop = browser()
    assert sign_in(laptop, ada.user).status_code == 302
    assert verify(laptop, oathtool_code(ada.secret, at=time.time() + 30), trust=True).status_code == 302
    with commits(execute=True):
        _, access_pass = issue_access_pass(user=ada.user, issued_by=None, request=None)
    AccountRecovery.objects.create(
        user=ada.user,
        kind=RecoveryKind.REVIEWED,
        account_email=ada.user.email,
        contact_email="ada.elsewhere@example.net",
        cancel_token_hash=secrets.token_hex(32),
        completion_token_hash=secrets.token_hex(32),
    )
    contoso = Organization.objects.create(
        name="Contoso", slug="contoso", verified_domains=["contoso.example"]
    )
    megan = make_user("megan@contoso.example")
    Membership.objects.create(user=megan, organization=contoso, role="admin", home=True)
    Invitation.objects.create(
        user=megan,
        organization=contoso,
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + timedelta(days=7),
    )
    Group.objects.create(name="Operators")
    DBTaskResult.objects.create(
        task_path="threshold.core.mail.send_message",
        args_kwargs={"args": [42], "kwargs": {"body": TASK_CODE}},
        backend_name="default",
        queue_name="default",
        run_after=timezone.now(),
    )
    plain = {ada.secret, access_pass, TASK_CODE, *ada.recovery_codes}
    return {"plain": plain, "stored": stored_secrets()}


def test_no_admin_page_shows_a_secret_hash_or_code(
    seeded: dict[str, Any],
    commits: Commits,  # noqa: F811 - the fixture
) -> None:
    # Signed in as /staff/ asks: a passkey on the account, and this session proved it.
    operator = staff_operator(commits, "operator@example.com")
    staff, client = operator.user, operator.client
    request = RequestFactory().get("/staff/")
    request.user = staff
    assert len(seeded["stored"]) >= 10, seeded["stored"]  # the seeding above did store secrets
    watched = seeded["plain"] | seeded["stored"]

    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        rows = list(model._default_manager.all()[:5])
        assert rows, f"seed a {meta.label} row in this test, so that its admin pages are walked"
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        pages = [changelist, f"{changelist}?q=ada"]
        pages += [reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk]) for row in rows]
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            html = response.content.decode()
            for value in watched:
                assert value not in html, f"{url} shows {value[:24]}…"
        # And by construction: no field that holds one is on the page or in the list.
        # (A user's `password` may be on a page: Django's widget for it shows only whether a
        # password is set, never the hash, and the walk above proves it.)
        hidden = {f.name for f in secret_fields(model)} - {"password"}
        shown = set(model_admin.get_fields(request, rows[0])) | set(model_admin.get_list_display(request))
        assert not hidden & shown, (meta.label, hidden & shown)
