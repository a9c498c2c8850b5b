"""Devices: recognised by their cookie, renamed, removed (sessions and trust end), stale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.utils import timezone

from tests.conftest import make_user
from tests.security.conftest import OTHER_UA, Person, browser, is_signed_in, oathtool_code, sign_in, verify
from threshold.activity.models import SecurityEvent
from threshold.devices import cookie
from threshold.devices.models import Device, TrustedDevice

pytestmark = pytest.mark.django_db


def device_cookie(client: Client) -> str:
    morsel = client.cookies.get(cookie.cookie_name())
    assert morsel is not None and morsel.value
    return morsel.value


def test_a_sign_in_makes_a_device_and_the_cookie_recognises_it_again(person: Person) -> None:
    device = Device.objects.get(user=person.user)
    assert device.display_name == "Chrome on Windows"
    assert device.kind == "desktop" and device.os == "Windows"
    assert device.last_country == "GB"
    token = device_cookie(person.client)
    assert device.cookie_hash == cookie.token_hash(token) and token not in device.cookie_hash
    morsel = person.client.cookies[cookie.cookie_name()]
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and int(morsel["max-age"]) > 365 * 24 * 3600

    person.client.post("/accounts/logout/")
    assert sign_in(person.client, person.user).status_code == 302
    assert Device.objects.filter(user=person.user).count() == 1  # the same browser, recognised

    elsewhere = browser(HTTP_USER_AGENT=OTHER_UA)
    assert sign_in(elsewhere, person.user).status_code == 302
    assert Device.objects.filter(user=person.user).count() == 2
    assert device_cookie(elsewhere) != token


def test_the_devices_page_marks_this_device_and_lists_its_sessions(person: Person) -> None:
    other = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(other, person.user)
    page = person.client.get("/devices/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Chrome on Windows" in html and "Firefox on Mac OS X" in html
    assert html.count("This device") == 1
    assert html.index("This device") < html.index("Firefox on Mac OS X")
    assert "1 active session" in html
    # Every session is tied to its device.
    for session in UserSession.objects.filter(user=person.user):
        assert Device.objects.filter(pk=session.data["device"], user=person.user).exists()


def test_the_nav_leads_to_devices_and_allauths_sessions_page_still_works(person: Person) -> None:
    html = person.client.get("/").content.decode()
    assert 'href="/devices/"' in html
    assert person.client.get("/accounts/sessions/").status_code == 200


def test_a_device_can_be_renamed_and_named_back(person: Person) -> None:
    device = Device.objects.get(user=person.user)
    response = person.client.post(f"/devices/{device.public_id}/rename/", {"name": "  Work   laptop "})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.display_name == "Work laptop"
    event = SecurityEvent.objects.get(user=person.user, code="account:device:rename")
    assert event.details["from"] == "Chrome on Windows" and event.details["to"] == "Work laptop"
    person.client.post(f"/devices/{device.public_id}/rename/", {"name": ""})
    device.refresh_from_db()
    assert device.display_name == "Chrome on Windows"


def test_removing_a_device_ends_its_sessions_and_its_trust(
    user_with_totp: Person, commits: Any, mailbox: Any
) -> None:
    person = user_with_totp
    from tests.security.conftest import turn_on_two_step

    turn_on_two_step(person.client, commits)
    laptop = browser(HTTP_USER_AGENT=OTHER_UA)
    assert sign_in(laptop, person.user)["Location"] == "/security/verify/"
    assert verify(laptop, oathtool_code(person.secret), trust=True).status_code == 302
    assert is_signed_in(laptop)
    trusted = TrustedDevice.objects.get(user=person.user)
    device = Device.objects.get(user=person.user, browser="Firefox")
    assert trusted.device_link.device == device
    html = person.client.get("/devices/").content.decode()
    assert "Skips two-step verification" in html

    mailbox.clear()
    with commits(execute=True):
        response = person.client.post(f"/devices/{device.public_id}/remove/")
    assert response.status_code == 302 and response["Location"] == "/devices/"
    assert not is_signed_in(laptop)  # its session is gone
    assert is_signed_in(person.client)  # this one stays
    trusted.refresh_from_db()
    assert trusted.revoked_at is not None
    device.refresh_from_db()
    assert device.removed_at is not None
    event = SecurityEvent.objects.get(user=person.user, code="account:device:remove")
    assert event.details["sessions_ended"] == 1 and event.details["trust_ended"] == 1
    alert = mailbox.to(person.user.email)
    assert len(alert) == 1
    assert "Firefox on Mac OS X" in mailbox.text(
        alert[0]
    ) and "asked for two-step verification again" in mailbox.text(alert[0])
    assert "Firefox" not in person.client.get("/devices/").content.decode()

    # Signing in there again is a new device, asked for the second step again.
    assert sign_in(laptop, person.user)["Location"] == "/security/verify/"


def test_a_removed_device_is_signed_out_even_if_its_session_survived(person: Person) -> None:
    device = Device.objects.get(user=person.user)
    # As if the session had escaped the removal (not yet tied to its device).
    Device.objects.filter(pk=device.pk).update(removed_at=timezone.now())
    response = person.client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_signed_in(person.client)


def test_removing_this_device_signs_this_browser_out(person: Person) -> None:
    device = Device.objects.get(user=person.user)
    response = person.client.post(f"/devices/{device.public_id}/remove/")
    assert response["Location"] == "/accounts/login/"
    assert not is_signed_in(person.client)


def test_another_accounts_device_is_404_and_nothing_changes(person: Person) -> None:
    bob = make_user("bob@example.com")
    bobs_browser = browser()
    sign_in(bobs_browser, bob)
    bobs = Device.objects.get(user=bob)
    assert person.client.post(f"/devices/{bobs.public_id}/remove/").status_code == 404
    assert person.client.post(f"/devices/{bobs.public_id}/rename/", {"name": "mine"}).status_code == 404
    assert person.client.get(f"/devices/{bobs.public_id}/rename/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.removed_at is None and bobs.name == ""
    assert is_signed_in(bobs_browser)
    assert not SecurityEvent.objects.filter(code__startswith="account:device:").exists()


def test_devices_unused_for_long_are_marked_stale(person: Person, settings: Any) -> None:
    settings.STALE_DEVICE_DAYS = 90
    old = Device.objects.create(
        user=person.user,
        cookie_hash="0" * 64,
        browser="Safari",
        os="iOS",
        kind="phone",
        first_seen_at=timezone.now() - timedelta(days=200),
        last_seen_at=timezone.now() - timedelta(days=91),
    )
    recent = Device.objects.create(
        user=person.user,
        cookie_hash="1" * 64,
        browser="Edge",
        os="Windows",
        kind="desktop",
        last_seen_at=timezone.now() - timedelta(days=89),
    )
    html = person.client.get("/devices/").content.decode()
    stale_section = html[html.index("Not used for a long time") :]
    assert "Safari on iOS" in stale_section and "Not used for over 90 days" in stale_section
    assert "Edge on Windows" not in stale_section
    assert recent.display_name in html and old.display_name in html


def test_last_seen_is_written_at_most_once_a_minute(person: Person) -> None:
    device = Device.objects.get(user=person.user)
    earlier = timezone.now() - timedelta(seconds=30)
    Device.objects.filter(pk=device.pk).update(last_seen_at=earlier)
    person.client.get("/")
    device.refresh_from_db()
    assert device.last_seen_at == earlier
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now() - timedelta(minutes=2))
    person.client.get("/")
    device.refresh_from_db()
    assert timezone.now() - device.last_seen_at < timedelta(seconds=10)


def test_sign_out_everywhere_is_on_the_devices_page(person: Person) -> None:
    other = browser(HTTP_USER_AGENT=OTHER_UA)
    sign_in(other, person.user)
    html = person.client.get("/devices/").content.decode()
    assert 'action="/sign-out-everywhere/"' in html and 'name="include_current"' in html
    response = person.client.post("/sign-out-everywhere/")
    assert response["Location"] == "/devices/"
    assert not is_signed_in(other) and is_signed_in(person.client)


def test_a_session_from_before_devices_existed_gets_its_device(client: Client, user: Any) -> None:
    client.force_login(user)
    session = client.session
    del session["threshold.device"]  # as a session signed in before this release has none
    session.save()
    Device.objects.filter(user=user).delete()
    assert client.get("/", HTTP_USER_AGENT=OTHER_UA).status_code == 200
    device = Device.objects.get(user=user)
    assert device.display_name == "Firefox on Mac OS X"
    assert client.cookies[cookie.cookie_name()].value
    assert UserSession.objects.get(user=user).data["device"] == device.pk
