"""Operator commands: createadmin's one-time password, and the idempotent demo data."""

from __future__ import annotations

import re
import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.test import Client

from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db

OWN_PASSWORD = "quiet meadow copper 31"


def create_admin(email: str) -> tuple[str, str]:
    out = StringIO()
    call_command("createadmin", email, stdout=out)
    text = out.getvalue()
    match = re.search(r"One-time password .*: (\S+)$", text, re.M)
    assert match, text
    return match.group(1), text


def test_createadmin_prints_a_one_time_password_for_a_verified_staff_account() -> None:
    password, text = create_admin("Root@Example.com")
    assert "Created staff account root@example.com." in text
    user = User.objects.get(email="root@example.com")
    assert user.is_staff and user.is_superuser and user.must_change_password
    assert user.check_password(password)
    assert len(password) >= 20
    assert EmailAddress.objects.get(user=user).verified
    assert SecurityEvent.objects.filter(code="account:admin:create", user=user).exists()


def test_createadmin_refuses_an_existing_or_malformed_email(user: User) -> None:
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", "ADA@example.com", stdout=StringIO())
    with pytest.raises(CommandError, match="valid email address"):
        call_command("createadmin", "not-an-email", stdout=StringIO())
    assert User.objects.count() == 1


def test_the_admin_must_choose_a_password_at_first_sign_in(client: Client) -> None:
    password, _ = create_admin("root@example.com")
    response = client.post("/accounts/login/", {"login": "root@example.com", "password": password})
    assert response.status_code == 302
    # Every page, the staff admin included, leads to the change-password page until then.
    for url in ("/", "/your-info/", "/staff/", "/accounts/sessions/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/password/change/", url
    page = client.get("/accounts/password/change/").content.decode()
    assert "Your password was given to you by an administrator." in page
    # Signing out stays possible; it is just not taken here.
    assert client.get("/accounts/logout/").status_code == 200

    # Typing the issued password again is not choosing one's own.
    refused = client.post("/accounts/password/change/", {"oldpassword": password, "password1": password})
    assert "Choose a password different from your current one." in refused.content.decode()
    user = User.objects.get(email="root@example.com")
    assert user.must_change_password

    response = client.post("/accounts/password/change/", {"oldpassword": password, "password1": OWN_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert user.check_password(OWN_PASSWORD)
    assert client.get("/").status_code == 200
    # The staff admin opens only once a passkey is added and signed in with (tests/config).
    refused = client.get("/staff/")
    assert refused.status_code == 403
    assert "Add one on Security info" in refused.content.decode()
    assert SecurityEvent.objects.filter(code="account:password:change", user=user).exists()


# --- Demo data -------------------------------------------------------------------------------


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_is_idempotent_and_prints_passwords_only_once(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    first = run_demo()
    accounts = {u.email: (u.pk, u.password) for u in User.objects.all()}
    events = SecurityEvent.objects.count()
    passwords = re.findall(r"^\s+\S+@\S+\s+(\S+)\s+", first, re.M)
    assert len(accounts) == 5 and len(passwords) == 5

    second = run_demo()
    assert {u.email: (u.pk, u.password) for u in User.objects.all()} == accounts  # passwords not reset
    assert SecurityEvent.objects.count() == events
    for password in passwords:
        assert password not in second
    assert second.count("(created earlier; password in") == 5

    record = tmp_path / "demo-sign-ins.txt"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    lines = record.read_text().splitlines()
    assert len(lines) == 5  # written once, not appended again
    email, password, _role = lines[0].split("\t")
    assert password in passwords
    response = Client().post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302
