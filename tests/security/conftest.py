"""Security states as fixtures: an account with an authenticator app, with 2SV on, with a phone."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, make_user
from tests.security.softauthn import SoftAuthenticator
from threshold.accounts.models import PhoneNumber, User
from threshold.security.models import SignInMethod

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
OTHER_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0"
LONDON_IP = "81.2.69.160"  # GB in iptocc's table

Commits = Callable[..., AbstractContextManager[Any]]


def oathtool_code(secret: str, *, at: float | None = None) -> str:
    """A code from Debian's oathtool, an implementation independent of allauth's."""
    args = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        args.append(f"--now={time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(at))}")
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def pyotp_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def browser(**extra: Any) -> Client:
    # The portal is reached as http://localhost: a passkey is bound to the site's host name,
    # and browsers allow passkeys over plain http only there.
    return Client(
        **{"HTTP_USER_AGENT": BROWSER_UA, "REMOTE_ADDR": LONDON_IP, "HTTP_HOST": "localhost", **extra}
    )


def sign_in(client: Client, user: User, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"login": user.email, "password": password})


def read_secret(html: str) -> str:
    match = re.search(r'data-secret="([A-Z2-7]+)"', html)
    assert match, "no authenticator secret on the page"
    return match.group(1)


def add_authenticator_app(client: Client, commits: Commits, *, name: str = "Phone app") -> str:
    """Set up an authenticator app through allauth's page; returns the secret."""
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200, page.status_code
    secret = read_secret(page.content.decode())
    with commits(execute=True):
        response = client.post("/accounts/2fa/totp/activate/", {"code": oathtool_code(secret), "name": name})
    assert response.status_code == 302, response.content[:800]
    return secret


def turn_on_two_step(client: Client, commits: Commits) -> list[str]:
    """Turn 2SV on; returns the recovery codes shown once."""
    with commits(execute=True):
        response = client.post("/security/two-step/on/")
    assert response.status_code == 302
    if response["Location"] != "/security/recovery-codes/":
        return []
    page = client.get("/security/recovery-codes/").content.decode()
    return re.findall(r"<code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code>", page)


def json_block(page: Any, element_id: str) -> Any:
    """The data a page hands its scripts in ``{{ value|json_script:element_id }}``."""
    content = page.content.decode() if hasattr(page, "content") else str(page)
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', content, re.S)
    assert match, f"no {element_id} data on the page"
    return json.loads(html.unescape(match.group(1)))


def add_passkey(
    client: Client,
    authenticator: SoftAuthenticator,
    commits: Commits,
    *,
    name: str = "Phone passkey",
    passwordless: bool = True,
) -> SignInMethod:
    """Add a passkey through allauth's page, as passkeys.js does in a browser."""
    page = client.get("/accounts/2fa/webauthn/add/")
    assert page.status_code == 200, page.status_code
    options = json_block(page, "passkey-options")["creation_options"]
    if passwordless:  # what passkeys.js asks for when "sign in without a password" is ticked
        options["publicKey"]["authenticatorSelection"].update(
            residentKey="required", requireResidentKey=True, userVerification="required"
        )
    credential = authenticator.create(options, discoverable=passwordless)
    data = {"name": name, "credential": json.dumps(credential)}
    if passwordless:
        data["passwordless"] = "on"
    with commits(execute=True):
        response = client.post("/accounts/2fa/webauthn/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    method = SignInMethod.objects.filter(authenticator__isnull=False).order_by("-pk").first()
    assert method is not None and method.name == name
    return method


def passkey_options(client: Client) -> Any:
    """What the sign-in page's script fetches before asking for a passkey."""
    response = client.get("/accounts/2fa/webauthn/login/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.status_code
    return response.json()["request_options"]


def sign_in_with_passkey(client: Client, authenticator: SoftAuthenticator, **answer: Any) -> Any:
    """Sign in with a passkey alone: no email, no password."""
    credential = authenticator.get(passkey_options(client), **answer)
    return client.post("/accounts/2fa/webauthn/login/", {"credential": json.dumps(credential)})


def verify(client: Client, code: str, *, method: str = "", trust: bool = False) -> Any:
    data = {"code": code}
    if method:
        data["method"] = method
    if trust:
        data["trust_device"] = "on"
    return client.post("/security/verify/", data)


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


@dataclass
class Person:
    user: User
    client: Client
    secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)
    authenticator: SoftAuthenticator = field(default_factory=SoftAuthenticator)
    passkey: SignInMethod | None = None


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Any) -> Commits:
    """Run on-commit work (allauth's signals, our alerts) inside the test's transaction."""
    return django_capture_on_commit_callbacks  # type: ignore[no-any-return]


@pytest.fixture
def person(db: Any) -> Person:
    user = make_user("ada@example.com", given_name="Ada", family_name="Lovelace")
    client = browser()
    assert sign_in(client, user).status_code == 302
    return Person(user=user, client=client)


@pytest.fixture
def user_with_totp(person: Person, commits: Commits) -> Person:
    person.secret = add_authenticator_app(person.client, commits)
    return person


@pytest.fixture
def user_with_two_step(user_with_totp: Person, commits: Commits) -> Person:
    user_with_totp.recovery_codes = turn_on_two_step(user_with_totp.client, commits)
    assert len(user_with_totp.recovery_codes) == 10
    return user_with_totp


@pytest.fixture
def user_with_passkey(person: Person, commits: Commits) -> Person:
    """An account with a passkey that signs in on its own (and its password)."""
    person.passkey = add_passkey(person.client, person.authenticator, commits)
    return person


@pytest.fixture
def passwordless_user(user_with_passkey: Person, commits: Commits) -> Person:
    """An account that removed its password and signs in with its passkey alone."""
    with commits(execute=True):
        response = user_with_passkey.client.post("/security/password/remove/")
    assert response.status_code == 302 and response["Location"] == "/security/", response
    user_with_passkey.user.refresh_from_db()
    assert not user_with_passkey.user.has_usable_password()
    return user_with_passkey


@pytest.fixture
def verified_phone(person: Person) -> PhoneNumber:
    return PhoneNumber.objects.create(
        user=person.user, number="+14255550123", primary=True, verified_at=timezone.now()
    )


@pytest.fixture
def sms_outbox(tmp_path: Path, settings: Any) -> Path:
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.SMS_GATEWAY = "threshold.core.sms.OutboxSmsGateway"
    return settings.OUTBOX_DIR  # type: ignore[no-any-return]


def last_text_message_code(outbox: Path) -> str:
    messages = sorted(outbox.glob("*-sms.eml"))
    assert messages, "no text message was sent"
    match = re.search(r"\b(\d{6})\b", messages[-1].read_text())
    assert match
    return match.group(1)
