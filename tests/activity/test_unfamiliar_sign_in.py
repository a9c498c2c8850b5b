"""Sign-ins through the real form are scored; an unfamiliar one emails the person once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.activity.helpers import (
    GB,
    IPHONE_SAFARI,
    MAC_FIREFOX,
    US,
    WINDOWS_CHROME,
    latest_sign_in,
    past_sign_in,
    sign_in,
)
from tests.conftest import PASSWORD, Mailbox, make_user
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent, SignInAssessment

pytestmark = pytest.mark.django_db


def alerts(mailbox: Mailbox, user: User) -> list[Any]:
    return [m for m in mailbox.to(user.email) if "Unfamiliar sign-in" in str(m["Subject"])]


@pytest.fixture
def known_laptop(user: User) -> User:
    """Ada has signed in from her Windows laptop in the United Kingdom before."""
    past_sign_in(user, at=timezone.now() - timedelta(days=3), ip=GB, agent=WINDOWS_CHROME)
    return user


def test_a_new_device_and_country_alerts_once_and_not_again(
    known_laptop: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.BASE_URL = "https://account.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(Client(), known_laptop, ip=US, agent=IPHONE_SAFARI)
    assert response.status_code == 302
    sent = alerts(mailbox, known_laptop)
    assert len(sent) == 1
    event = latest_sign_in(known_laptop)
    text = Mailbox.text(sent[0])
    assert (
        str(sent[0]["Subject"]).strip()
        == "Threshold: Unfamiliar sign-in to your account from Mobile Safari on iOS"
    )
    assert "First sign-in from Mobile Safari on iOS" in text
    assert "First sign-in from United States" in text
    assert "United States (approximate, from the IP address 8.8.8.8)" in text
    assert "Mobile Safari on iOS (Phone)" in text
    assert "Signed in with: Password" in text
    assert f"https://account.example.com/activity/{event.pk}/" in text
    html = sent[0].get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="https://account.example.com/activity/{event.pk}/"' in html
    assert "This wasn&#x27;t me" in html or "This wasn't me" in html

    assessment = SignInAssessment.objects.get(event=event)
    assert assessment.unfamiliar
    assert {r["rule"] for r in assessment.reasons} == {"new_device", "new_country"}

    # The same phone from the same country: familiar now, no second alert.
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_in(Client(), known_laptop, ip=US, agent=IPHONE_SAFARI).status_code == 302
    assert alerts(mailbox, known_laptop) == []
    assert not SignInAssessment.objects.filter(event=latest_sign_in(known_laptop)).exists()


def test_a_familiar_sign_in_sends_nothing(
    known_laptop: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), known_laptop, ip=GB, agent=WINDOWS_CHROME)
    assert alerts(mailbox, known_laptop) == []
    assert not SignInAssessment.objects.exists()


def test_a_brand_new_accounts_first_sign_in_is_not_unfamiliar(
    client: Client, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {"email": "grace@example.com", "password1": PASSWORD, "given_name": "Grace"},
            REMOTE_ADDR=US,
            HTTP_USER_AGENT=MAC_FIREFOX,
        )
        code = mailbox.last_code("grace@example.com")
        response = client.post(
            "/accounts/confirm-email/", {"code": code}, REMOTE_ADDR=US, HTTP_USER_AGENT=MAC_FIREFOX
        )
    assert response.status_code == 302
    grace = User.objects.get(email="grace@example.com")
    assert SecurityEvent.objects.filter(user=grace, code="account:signin:success").count() == 1
    assert not SignInAssessment.objects.exists()
    assert alerts(mailbox, grace) == []


def test_impossible_travel_with_a_controlled_clock(
    user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    start = timezone.now()
    clock = {"now": start}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    past_sign_in(user, at=start - timedelta(days=10), ip=US, agent=WINDOWS_CHROME)
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), user, ip=GB, agent=WINDOWS_CHROME)  # known device, new country
    assert {r["rule"] for r in SignInAssessment.objects.get(event=latest_sign_in(user)).reasons} == {
        "new_country"
    }

    # Twenty minutes later, "from" the United States again: some 6,900 km in 20 minutes.
    clock["now"] = start + timedelta(minutes=20)
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), user, ip=US, agent=WINDOWS_CHROME)
    event = latest_sign_in(user)
    assert event.occurred_at == start + timedelta(minutes=20)
    reasons = SignInAssessment.objects.get(event=event).reasons
    assert [r["rule"] for r in reasons] == ["impossible_travel"]
    assert reasons[0]["from"] == "GB" and reasons[0]["to"] == "US" and reasons[0]["minutes"] == 20
    assert len(alerts(mailbox, user)) == 1
    assert "faster than anyone can travel" in Mailbox.text(alerts(mailbox, user)[0])

    # Eleven hours after that, back in the United Kingdom: a flight's pace, nothing unusual.
    clock["now"] = start + timedelta(hours=11, minutes=20)
    mailbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), user, ip=GB, agent=WINDOWS_CHROME)
    assert not SignInAssessment.objects.filter(event=latest_sign_in(user)).exists()
    assert alerts(mailbox, user) == []


def test_success_after_several_failures_alerts(
    known_laptop: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    attacker = Client()
    for _ in range(3):
        response = sign_in(attacker, known_laptop, ip=GB, agent=WINDOWS_CHROME, password="wrong guess 1")
        assert response.status_code == 200
    assert SecurityEvent.objects.filter(user=known_laptop, code="account:signin:failure").count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_in(attacker, known_laptop, ip=GB, agent=WINDOWS_CHROME).status_code == 302
    reasons = SignInAssessment.objects.get(event=latest_sign_in(known_laptop)).reasons
    assert reasons == [{"rule": "success_after_failures", "failures": 3}]
    sent = alerts(mailbox, known_laptop)
    assert len(sent) == 1
    assert "Came after 3 failed attempts to sign in" in Mailbox.text(sent[0])


def test_two_failures_then_success_is_fine(known_laptop: User, mailbox: Mailbox) -> None:
    for _ in range(2):
        sign_in(Client(), known_laptop, ip=GB, agent=WINDOWS_CHROME, password="wrong guess 1")
    sign_in(Client(), known_laptop, ip=GB, agent=WINDOWS_CHROME)
    assert not SignInAssessment.objects.exists()


def test_the_alert_is_in_the_persons_language_and_time_zone(
    mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    luis = make_user("luis@example.com", locale="es", time_zone="America/Mexico_City", given_name="Luis")
    past_sign_in(luis, at=timezone.now() - timedelta(days=3), ip=GB, agent=WINDOWS_CHROME)
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(), luis, ip=US, agent=WINDOWS_CHROME)
    sent = alerts(mailbox, luis) or mailbox.to(luis.email)
    assert len(sent) == 1
    text = Mailbox.text(sent[0])
    assert "Estados Unidos" in text  # the country's name in Spanish
    assert "(America/Mexico_City)" in text
    event = latest_sign_in(luis)
    local = timezone.localtime(event.occurred_at, timezone.get_fixed_timezone(-6 * 60))
    assert re.search(rf"\b{local.hour}:{local.minute:02d}\b", text), text


def test_a_mail_server_that_fails_does_not_fail_the_sign_in(
    known_laptop: User, settings: Any, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(Client(), known_laptop, ip=US, agent=IPHONE_SAFARI)
    assert response.status_code == 302
    assert SignInAssessment.objects.get(event=latest_sign_in(known_laptop)).unfamiliar
    # The alert is queued; its delivery fails in the worker (here the immediate backend) and is logged.
    assert "path=threshold.core.tasks.deliver_mail state=FAILED" in caplog.text


def test_nothing_is_mailed_when_the_sign_in_is_rolled_back(known_laptop: User, mailbox: Mailbox) -> None:
    # Without a commit (the test's transaction never commits) the alert is never sent.
    sign_in(Client(), known_laptop, ip=US, agent=IPHONE_SAFARI)
    assert SignInAssessment.objects.get(event=latest_sign_in(known_laptop)).unfamiliar
    assert alerts(mailbox, known_laptop) == []
