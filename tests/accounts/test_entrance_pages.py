"""allauth's entrance and password pages, drawn in our design and in our words."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts.models import User

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "threshold" / "templates"
NEW_PASSWORD = "velvet harbour lantern 19"


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def assert_our_design(page: str) -> None:
    assert 'href="/static/threshold/threshold.css"' in page
    # CSP forbids inline styles and scripts: nothing on these pages may need them.
    assert " style=" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    # allauth's own wording would mean its bare template is showing.
    for leftover in ("Remember Me", "Sign In<", "Sign Up<", "Reset My Password", "Password (again)"):
        assert leftover not in page


def test_sign_in_page(client: Client) -> None:
    page = html(client.get("/accounts/login/?next=/your-info/"))
    assert_our_design(page)
    assert '<main id="main" class="entrance">' in page
    assert '<label for="id_remember">Keep me signed in</label>' in page
    assert '<a class="small" href="/recover/password/">Forgot password?</a>' in page
    # The way to sign up keeps where the person was going.
    assert 'href="/accounts/signup/?next=%2Fyour-info%2F">Create an account</a>' in page
    assert 'name="next" value="/your-info/"' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    # Passkeys: the button and the form it posts (tests/security/test_passkeys.py has the rest).
    assert "Sign in with a passkey" in page and 'action="/accounts/2fa/webauthn/login/"' in page


def test_sign_up_page_lists_the_password_rules(client: Client) -> None:
    page = html(client.get("/accounts/signup/"))
    assert_our_design(page)
    for label in ("First name", "Last name", "Email", "Password"):
        assert f">{label}</label>" in page
    rules = re.search(
        r'<div class="field__help password-rules" id="id_password1_helptext">(.*?)</div>', page, re.S
    )
    assert rules, "the rules are listed under the password"
    items = re.findall(r"<li>(.*?)</li>", rules.group(1))
    assert items == [
        "Use 8 to 128 characters.",
        "Don&#x27;t use a common or leaked password.",
        "Don&#x27;t use your name or email address.",
        "Make it hard to guess: a few unrelated words work well.",
    ]
    password_input = re.search(r"<input[^>]*name=\"password1\"[^>]*>", page).group(0)  # type: ignore[union-attr]
    assert 'aria-describedby="id_password1_helptext"' in password_input
    assert 'autocomplete="new-password"' in password_input


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/recover/password/"], ids=["in", "up", "reset"]
)
def test_inputs_allow_pasting_and_never_cut_a_password_short(client: Client, url: str) -> None:
    page = html(client.get(url))
    for tag in re.findall(r"<input[^>]*>", page):
        assert "onpaste" not in tag and "placeholder" not in tag
        if 'type="password"' in tag:
            assert "maxlength" not in tag  # a long pasted password is refused with a reason, not truncated


def test_sign_up_page_explains_a_refused_password(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"given_name": "Grace", "family_name": "Hopper", "email": "grace@example.com", "password1": "short"},
    )
    page = html(response)
    assert "This password is too short: use at least 8 characters." in page
    assert 'class="field field--error"' in page
    assert not User.objects.filter(email="grace@example.com").exists()


def test_email_code_page_verifies_and_sends_a_new_code(
    client: Client, mailbox: Mailbox, monkeypatch: Any
) -> None:
    client.post("/accounts/signup/", {"email": "grace@example.com", "password1": PASSWORD})
    page = html(client.get("/accounts/confirm-email/"))
    assert_our_design(page)
    assert "We sent a code to <strong>grace@example.com</strong>" in page
    assert 'autocomplete="one-time-code"' in page
    assert ">Send a new code</button>" in page
    first = mailbox.last_code("grace@example.com")

    # Straight away, a new code is refused (one per 10 s per address), on a page of ours.
    refused = client.post("/accounts/confirm-email/", {"action": "resend"})
    assert refused.status_code == 429
    assert_our_design(refused.content.decode())
    assert "<h1>Too many attempts</h1>" in refused.content.decode()

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 11)
    response = client.post("/accounts/confirm-email/", {"action": "resend"})
    assert response.status_code == 302
    assert len(mailbox.to("grace@example.com")) == 2
    second = mailbox.last_code("grace@example.com")
    assert second != first

    assert client.post("/accounts/confirm-email/", {"code": second}).status_code == 302
    assert client.get("/").status_code == 200


def test_password_reset_by_code_end_to_end(client: Client, user: User, mailbox: Mailbox) -> None:
    """The reset is threshold.recovery's now; its pages are in our design too."""
    page = html(client.get("/recover/password/"))
    assert_our_design(page)
    response = client.post("/recover/password/", {"email": user.email})
    assert response["Location"] == "/recover/password/send/"
    assert_our_design(html(client.get(response["Location"])))
    response = client.post("/recover/password/send/", {"way": "email", "email": user.email})
    assert response["Location"] == "/recover/password/code/"
    page = html(client.get(response["Location"]))
    assert_our_design(page)
    assert "If <strong>ada@example.com</strong> is on your account, we've sent a code to it by email." in page

    response = client.post("/recover/password/code/", {"code": mailbox.last_code(user.email)})
    assert response["Location"] == "/recover/password/new/"
    page = html(client.get("/recover/password/new/"))
    assert_our_design(page)
    assert "<h1>Choose a new password</h1>" in page
    assert page.count('type="password"') == 1  # no "type it again": the show toggle catches typos
    assert 'id="id_password1_helptext"' in page

    refused = client.post("/recover/password/new/", {"password1": "Lovelace ada"})
    assert refused.status_code == 400
    assert "This password is mostly your name or email address" in refused.content.decode()

    response = client.post("/recover/password/new/", {"password1": NEW_PASSWORD})
    assert response["Location"] == "/accounts/login/"
    assert "Your password was changed. Sign in with your new password." in html(
        client.get("/accounts/login/")
    )
    fresh = Client()
    assert fresh.post("/accounts/login/", {"login": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_password_change_sits_in_the_portal_and_signs_out_other_devices(
    signed_in_client: Client, user: User
) -> None:
    other = Client()
    assert other.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    page = html(signed_in_client.get("/accounts/password/change/"))
    assert_our_design(page)
    assert '<nav class="side-nav"' in page
    assert '<a class="small" href="/recover/password/">Forgot password?</a>' in page
    assert ">Current password</label>" in page and ">New password</label>" in page
    assert page.count('type="password"') == 2

    response = signed_in_client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert signed_in_client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302  # as the page says, the others are signed out


def test_password_set_page_for_an_account_without_a_password(client: Client, mailbox: Mailbox) -> None:
    make_user("nopass@example.com", password=None)
    user = User.objects.get(email="nopass@example.com")
    client.force_login(user)
    # Security info's rule: a recent sign-in first, here by a code mailed to the account.
    response = client.get("/accounts/password/set/")
    assert response["Location"] == "/accounts/reauthenticate/code/?next=%2Faccounts%2Fpassword%2Fset%2F"
    page = html(client.get(response["Location"]))
    assert_our_design(page)
    assert "<h1>Confirm it's you</h1>" in page and ">Send a code to</label>" in page
    response = client.post(response["Location"], {"recipient": user.email})
    page = html(client.get(response["Location"]))
    assert_our_design(page)
    assert "We sent a code to <strong>nopass@example.com</strong>." in page
    assert 'autocomplete="one-time-code"' in page and "placeholder" not in page
    response = client.post(response["Location"], {"code": mailbox.last_code(user.email)})
    assert response["Location"] == "/accounts/password/set/"
    page = html(client.get("/accounts/password/set/"))
    assert_our_design(page)
    assert '<nav class="side-nav"' in page
    assert "<h1>Set a password</h1>" in page
    assert client.post("/accounts/password/set/", {"password1": NEW_PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_sign_out_page(signed_in_client: Client) -> None:
    page = html(signed_in_client.get("/accounts/logout/"))
    assert_our_design(page)
    assert "Sign out of Threshold on this browser?" in page
    assert '<nav class="side-nav"' in page


def test_confirm_its_you_page(signed_in_client: Client, user: User) -> None:
    page = html(signed_in_client.get("/accounts/reauthenticate/?next=/your-info/"))
    assert_our_design(page)
    assert "<h1>Confirm it's you</h1>" in page
    assert "<strong>ada@example.com</strong>" in page
    refused = html(signed_in_client.post("/accounts/reauthenticate/", {"password": "wrong password"}))
    assert 'class="field field--error"' in refused
    response = signed_in_client.post(
        "/accounts/reauthenticate/", {"password": PASSWORD, "next": "/your-info/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/your-info/"


def test_turned_off_account_page(client: Client) -> None:
    make_user("off@example.com", is_active=False)
    response = client.post("/accounts/login/", {"login": "off@example.com", "password": PASSWORD})
    assert response.status_code == 302
    page = html(client.get(response["Location"]))
    assert_our_design(page)
    assert "<h1>This account is turned off</h1>" in page


@pytest.mark.parametrize(
    "template",
    [
        # Reached only with link-based verification or reset, which settings can turn on.
        "account/verification_sent.html",
        "account/password_reset_done.html",
        "account/email_confirm.html",
        "account/signup_closed.html",
        "429.html",
    ],
)
def test_pages_our_settings_rarely_reach_are_drawn_too(rf: Any, template: str) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = AnonymousUser()
    page = render_to_string(template, {"user": request.user}, request=request)
    assert_our_design(page)
    assert '<main id="main" class="entrance">' in page


def _untranslated_text(source: str) -> str:
    """What a template would show that no translation tag covers."""
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.S)
    source = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "", source, flags=re.S)
    source = re.sub(r"{#.*?#}", "", source, flags=re.S)
    source = re.sub(r"{%.*?%}|{{.*?}}", "", source, flags=re.S)
    source = re.sub(r"<[^>]+>", "", source)
    return source.strip()


OUR_TEMPLATES = [
    *sorted(p.relative_to(TEMPLATES).as_posix() for p in (TEMPLATES / "account").glob("*.html")),
    "accounts/_password_field.html",
    "_form_errors.html",
    "429.html",
]


@pytest.mark.parametrize("template", OUR_TEMPLATES)
def test_every_word_on_these_pages_is_marked_for_translation(template: str) -> None:
    leftover = _untranslated_text((TEMPLATES / template).read_text())
    assert not re.search(r"[A-Za-z]", leftover), leftover
