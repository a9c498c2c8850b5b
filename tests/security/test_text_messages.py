"""Text-message codes as a second step: 6 digits, 10 minutes, single use, 5 tries, capped sends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.security.conftest import (
    Commits,
    Person,
    browser,
    is_signed_in,
    last_text_message_code,
    sign_in,
    turn_on_two_step,
    verify,
)
from threshold.accounts.models import PhoneNumber
from threshold.activity.models import Result, SecurityEvent
from threshold.security.models import MethodKind, SignInMethod, TextMessageChallenge

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_with_text_messages(person: Person, verified_phone: PhoneNumber, commits: Commits) -> Person:
    with commits(execute=True):
        response = person.client.post("/security/add/text-message/", {"phone": verified_phone.pk})
    assert response.status_code == 302
    turn_on_two_step(person.client, commits)
    return person


def method_key(person: Person) -> str:
    method = SignInMethod.objects.get(user=person.user, kind=MethodKind.TEXT_MESSAGE)
    return f"text-message-{method.public_id}"


def start_sign_in(person: Person) -> Any:
    client = browser()
    assert sign_in(client, person.user)["Location"] == "/security/verify/"
    return client


def send(client: Any, key: str) -> Any:
    return client.post("/security/verify/", {"method": key, "action": "send"}, follow=True)


def test_only_a_verified_number_can_receive_codes(person: Person) -> None:
    unverified = PhoneNumber.objects.create(user=person.user, number="+14255550100")
    page = person.client.get("/security/add/text-message/").content.decode()
    assert "+14255550100" not in page
    assert "weakest method" in page
    response = person.client.post("/security/add/text-message/", {"phone": unverified.pk})
    assert response.status_code == 200  # not a choice
    assert not SignInMethod.objects.filter(user=person.user).exists()


def test_a_texted_code_completes_the_sign_in_once(user_with_text_messages: Person, sms_outbox: Path) -> None:
    client = start_sign_in(user_with_text_messages)
    page = client.get("/security/verify/").content.decode()
    assert "Text a code to •••• 0123" in page and "weakest method" in page
    key = method_key(user_with_text_messages)
    assert "We sent a code" in send(client, key).content.decode()
    code = last_text_message_code(sms_outbox)
    assert len(code) == 6
    assert verify(client, code, method=key).status_code == 302
    assert is_signed_in(client)
    challenge = TextMessageChallenge.objects.get()
    assert challenge.consumed_at is not None and code not in challenge.code_hash

    again = start_sign_in(user_with_text_messages)
    assert verify(again, code, method=key).status_code == 400
    assert not is_signed_in(again)
    assert SecurityEvent.objects.filter(code="account:signin:code_sent", result=Result.SUCCESS).count() == 1


def test_a_code_expires_after_ten_minutes(
    user_with_text_messages: Person, sms_outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = start_sign_in(user_with_text_messages)
    key = method_key(user_with_text_messages)
    send(client, key)
    code = last_text_message_code(sms_outbox)
    later = timezone.now() + timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert verify(client, code, method=key).status_code == 400
    assert not is_signed_in(client)


def test_five_wrong_tries_kill_the_code_and_a_new_code_does_not_reset_them(
    user_with_text_messages: Person, sms_outbox: Path, settings: Any
) -> None:
    client = start_sign_in(user_with_text_messages)
    key = method_key(user_with_text_messages)
    send(client, key)
    code = last_text_message_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert verify(client, wrong, method=key).status_code == 400
    send(client, key)  # a new code keeps the count: 4 tries used, 1 left
    new_code = last_text_message_code(sms_outbox)
    assert TextMessageChallenge.objects.get().attempts == 4
    assert verify(client, f"{(int(new_code) + 1) % 1_000_000:06d}", method=key).status_code == 400
    # The fifth wrong try killed it: even the right code is refused now.
    from threshold.security import throttle

    throttle.clear_second_step_failures(user_with_text_messages.user)
    assert verify(client, new_code, method=key).status_code == 400
    assert TextMessageChallenge.objects.get().attempts == 5
    page = send(client, key).content.decode()
    assert "Too many wrong codes" in page
    assert not is_signed_in(client)


def test_sending_is_capped_per_number(user_with_text_messages: Person, sms_outbox: Path) -> None:
    client = start_sign_in(user_with_text_messages)
    key = method_key(user_with_text_messages)
    for _ in range(5):
        send(client, key)
    assert len(list(sms_outbox.glob("*-sms.eml"))) == 5
    page = send(client, key).content.decode()
    assert "Too many codes were sent" in page
    assert len(list(sms_outbox.glob("*-sms.eml"))) == 5
    blocked = SecurityEvent.objects.get(code="account:signin:code_sent", result=Result.BLOCKED)
    assert blocked.details == {"number": "•••• 0123"}


def test_sending_is_capped_per_client_address(db: Any) -> None:
    from threshold.security import throttle

    def someone(pk: int) -> Any:
        return type("Someone", (), {"pk": pk})()

    results = [
        throttle.consume_send_allowance(number=f"+1425555{n:04d}", user=someone(n), ip="203.0.113.9")
        for n in range(21)
    ]
    assert results == [True] * 20 + [False]


def test_the_send_allowance_per_account_is_ten_a_day(db: Any) -> None:
    from threshold.security import throttle

    class Someone:
        pk = 7

    results = [
        throttle.consume_send_allowance(number=f"+1425555{n:04d}", user=Someone(), ip=f"203.0.113.{n}")
        for n in range(11)
    ]
    assert results == [True] * 10 + [False]


class RefusingGateway:
    def send(self, *, to: str, body: str) -> None:
        from threshold.core.sms import SmsDeliveryError

        raise SmsDeliveryError("provider down")


def test_a_refused_text_message_saves_no_code(user_with_text_messages: Person, settings: Any) -> None:
    settings.SMS_GATEWAY = "tests.security.test_text_messages.RefusingGateway"
    client = start_sign_in(user_with_text_messages)
    page = send(client, method_key(user_with_text_messages)).content.decode()
    assert "The text message could not be sent" in page
    assert not TextMessageChallenge.objects.exists()
    assert not SecurityEvent.objects.filter(code="account:signin:code_sent").exists()
