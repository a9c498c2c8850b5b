"""After a sign-in with a recovery code: led to a new sign-in method and a new set of codes."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.security.conftest import (
    Commits,
    Person,
    add_passkey,
    browser,
    oathtool_code,
    sign_in,
    verify,
)
from tests.security.softauthn import SoftAuthenticator
from threshold.activity.models import SecurityEvent
from threshold.security.models import MethodKind, RecoveryCode

pytestmark = pytest.mark.django_db

BANNER = "Finish setting up your sign-in"


def sign_in_with_recovery_code(person: Person, commits: Commits) -> Client:
    client = browser()
    sign_in(client, person.user)
    with commits(execute=True):
        response = verify(client, person.recovery_codes[0], method="recovery-code")
    assert response.status_code == 302
    assert response["Location"] == "/recover/set-up/"
    return client


def test_a_recovery_code_leads_to_a_new_method_and_new_codes(
    user_with_two_step: Person, commits: Commits
) -> None:
    client = sign_in_with_recovery_code(user_with_two_step, commits)
    page = client.get("/recover/set-up/").content.decode()
    assert "You signed in with a recovery code" in page
    assert "You have 9 recovery codes left." in page
    assert page.count("To do") == 2 and "Done" not in page
    assert "/accounts/2fa/webauthn/add/" in page  # the authenticator app is there already
    assert "Lost the phone with your authenticator app? Remove the old app on Security info" in page
    assert BANNER in client.get("/").content.decode()

    # 1. A new method: a passkey, through Security info's own page.
    add_passkey(client, SoftAuthenticator(), commits, name="New laptop")
    page = client.get("/recover/set-up/").content.decode()
    assert page.count("Done") == 1 and page.count("To do") == 1
    assert BANNER in client.get("/").content.decode()

    # 2. New codes, shown once the way Security info shows them, then back here.
    with commits(execute=True):
        response = client.post("/recover/set-up/codes/")
    assert response["Location"] == "/security/recovery-codes/"
    shown = re.findall(
        r"<code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code>",
        client.get(response["Location"]).content.decode(),
    )
    assert len(shown) == 10 and not set(shown) & set(user_with_two_step.recovery_codes)
    assert client.post("/security/recovery-codes/done/")["Location"] == "/recover/set-up/"
    assert client.get("/security/recovery-codes/")["Location"] == "/security/"  # only once

    page = client.get("/recover/set-up/").content.decode()
    assert page.count("Done") == 2 and "All done" in page
    assert BANNER not in client.get("/").content.decode()
    assert SecurityEvent.objects.filter(code="account:recovery_codes:generate").count() == 2
    assert RecoveryCode.objects.filter(user=user_with_two_step.user, used_at__isnull=True).count() == 10


def test_the_banner_can_be_put_off_for_the_session(user_with_two_step: Person, commits: Commits) -> None:
    client = sign_in_with_recovery_code(user_with_two_step, commits)
    response = client.post("/recover/set-up/not-now/")
    assert response["Location"] == "/"
    assert BANNER not in client.get("/").content.decode()
    # Another sign-in, with the authenticator app this time: still not done, so it is back.
    other = browser()
    sign_in(other, user_with_two_step.user)
    assert verify(other, oathtool_code(user_with_two_step.secret)).status_code == 302
    assert BANNER in other.get("/").content.decode()


def test_other_sign_ins_go_where_they_were_going(user_with_two_step: Person) -> None:
    client = browser()
    sign_in(client, user_with_two_step.user)
    response = verify(client, oathtool_code(user_with_two_step.secret))
    assert response["Location"] == "/"
    assert BANNER not in client.get("/").content.decode()
    assert client.get("/recover/set-up/")["Location"] == "/security/"


def test_a_method_added_before_the_recovery_sign_in_does_not_count(
    user_with_two_step: Person, commits: Commits
) -> None:
    assert user_with_two_step.user.sign_in_methods.filter(kind=MethodKind.AUTHENTICATOR_APP).exists()
    client = sign_in_with_recovery_code(user_with_two_step, commits)
    page = client.get("/recover/set-up/").content.decode()
    assert page.count("To do") == 2
