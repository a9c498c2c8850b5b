"""Download your data: the ZIP's contents, no secrets, the 24-hour link, and only for its account."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import zipfile
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import make_user
from tests.core.stored_secrets import stored_secrets
from tests.security.conftest import (
    Person,
    add_passkey,
    browser,
    last_text_message_code,
    oathtool_code,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.accounts.models import PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.recovery.models import DataExport, ExportStatus
from threshold.recovery.services.access_pass import issue_access_pass
from threshold.recovery.services.closure import close_due_accounts
from threshold.recovery.services.export_archive import build_data_export
from threshold.security.models import RecoveryCode

pytestmark = pytest.mark.django_db

SECTIONS = ("profile", "contact_addresses", "sign_in_methods", "devices", "activity")


def ask_for_export(person: Person, commits: Any) -> DataExport:
    with commits(execute=True):
        response = person.client.post("/privacy/export/")
    assert response["Location"] == "/privacy/#export", response
    return DataExport.objects.filter(user=person.user).get()


def download(client: Any, export: DataExport) -> Any:
    return client.get(f"/privacy/export/{export.public_id}/download/")


def test_the_export_is_built_in_the_background_mailed_and_downloadable(
    user_with_totp: Person, commits: Any, mailbox: Any
) -> None:
    person = user_with_totp
    codes = turn_on_two_step(person.client, commits)
    assert len(codes) == 10
    PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    mailbox.clear()

    export = ask_for_export(person, commits)

    assert export.status == ExportStatus.READY and export.progress == 100
    assert export.expires_at - export.ready_at == timedelta(hours=24)
    assert "A copy of your account's data is ready" in mailbox.text(mailbox.to(person.user.email)[-1])
    page = person.client.get("/privacy/").content.decode()
    assert f"/privacy/export/{export.public_id}/download/" in page

    response = download(person.client, export)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {f"{s}.{ext}" for s in SECTIONS for ext in ("json", "csv")} <= names and "README.txt" in names

    profile = json.loads(archive.read("profile.json"))
    assert profile[0]["email"] == "ada@example.com" and profile[0]["family_name"] == "Lovelace"
    contacts = json.loads(archive.read("contact_addresses.json"))
    assert {c["address"] for c in contacts} == {"ada@example.com", "+14255550123"}
    methods = json.loads(archive.read("sign_in_methods.json"))
    assert {"password", "two_step_verification", "recovery_codes", "authenticator_app"} <= {
        m["kind"] for m in methods
    }
    assert next(m for m in methods if m["kind"] == "authenticator_app")["name"] == "Phone app"
    assert json.loads(archive.read("devices.json"))
    activity = json.loads(archive.read("activity.json"))
    assert {"account:signin:success", "account:2sv:enable"} <= {e["code"] for e in activity}
    rows = list(csv.DictReader(io.StringIO(archive.read("contact_addresses.csv").decode())))
    assert {r["address"] for r in rows} == {"ada@example.com", "'+14255550123"}

    # No secret, in any file.
    everything = b"".join(archive.read(name) for name in names).decode()
    secrets = [person.secret, person.user.password, *codes]
    secrets += list(RecoveryCode.objects.filter(user=person.user).values_list("code_hash", flat=True))
    secrets += [json.dumps(a.data) for a in Authenticator.objects.filter(user=person.user)]
    for secret in secrets:
        assert secret and secret not in everything, secret[:12]
    assert not re.search(r"pbkdf2|argon2|scrypt|bcrypt", everything)
    codes_recorded = set(SecurityEvent.objects.filter(user=person.user).values_list("code", flat=True))
    assert {"account:export:request", "account:export:ready", "account:export:download"} <= codes_recorded


def test_no_secret_hash_or_code_of_any_method_is_in_any_file(
    user_with_two_step: Person, commits: Any, sms_outbox: Any
) -> None:
    """An account with every kind of method and pending code, and nothing of any secret, hash
    or code in the ZIP, whether stored (hashed or encrypted) or in plain text."""
    person = user_with_two_step
    add_passkey(person.client, person.authenticator, commits, name="Laptop passkey")
    laptop = browser()
    assert sign_in(laptop, person.user).status_code == 302
    assert verify(laptop, oathtool_code(person.secret, at=time.time() + 30), trust=True).status_code == 302
    with commits(execute=True):
        person.client.post("/your-info/phones/add/", {"number": "+14255550123", "region": ""})
    phone_code = last_text_message_code(sms_outbox)  # left unentered: a pending code
    with commits(execute=True):
        _, access_pass = issue_access_pass(user=person.user, issued_by=None, request=None)

    export = ask_for_export(person, commits)
    archive = zipfile.ZipFile(io.BytesIO(download(person.client, export).content))
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()

    assert "+14255550123" in everything and "Laptop passkey" in everything  # the data is there
    stored = stored_secrets()
    assert any(value.startswith("enc1:") for value in stored)  # the app's secret, encrypted
    for value in {person.secret, access_pass, *person.recovery_codes} | stored:
        assert value not in everything, value[:12]
    assert not re.search(rf"(?<![.\d]){phone_code}(?!\d)", everything)  # (not a timestamp's microseconds)
    assert "enc1:" not in everything and not re.search(r"argon2|pbkdf2|\$2b\$", everything)


def test_another_account_gets_404(person: Person, commits: Any) -> None:
    export = ask_for_export(person, commits)
    other = make_user("grace@example.com")
    client = browser()
    sign_in(client, other)
    assert download(client, export).status_code == 404
    assert download(browser(), export).status_code == 302  # signed out: to the sign-in page


def test_the_link_expires_after_24_hours_and_expired_exports_are_deleted(
    person: Person, commits: Any
) -> None:
    export = ask_for_export(person, commits)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert download(person.client, export).status_code == 404
    assert "Download the ZIP" not in person.client.get("/privacy/").content.decode()

    out = StringIO()
    call_command("close_due_accounts", stdout=out)  # the daily run deletes it too
    assert "deleted 1 expired data export" in out.getvalue()
    assert not DataExport.objects.exists()
    export = ask_for_export(person, commits)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    ask_for_export_again = DataExport.objects.create(user=person.user)
    assert build_data_export(export_id=ask_for_export_again.pk)
    assert not DataExport.objects.filter(pk=export.pk).exists()
    assert build_data_export(export_id=ask_for_export_again.pk) is False  # built once


def test_exporting_and_downloading_need_a_fresh_sign_in(person: Person, commits: Any, clock: Any) -> None:
    export = ask_for_export(person, commits)
    clock.advance(10 * 60 + 1)
    assert download(person.client, export)["Location"].startswith("/accounts/reauthenticate/?next=")
    response = person.client.post("/privacy/export/")
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fprivacy%2F"
    assert DataExport.objects.filter(user=person.user).count() == 1


def test_the_page_shows_progress_while_it_is_prepared(person: Person) -> None:
    DataExport.objects.create(user=person.user, status=ExportStatus.BUILDING, progress=40)
    page = person.client.get("/privacy/").content.decode()
    assert '<progress max="100" value="40">' in page and 'http-equiv="refresh"' in page
    assert "/privacy/export/" not in page.split('id="export"')[1].split("</section>")[0]


def test_closing_deletes_the_exports(person: Person, commits: Any) -> None:
    ask_for_export(person, commits)
    with commits(execute=True):
        person.client.post("/privacy/close/", {"days": "30"})
    User.objects.filter(pk=person.user.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    assert close_due_accounts() == 1
    assert not DataExport.objects.exists()
