"""Text-message codes as a second step: 6 digits, 10 minutes, single use, 5 tries, capped sends.

The codes are threshold.accounts.codes', shared with phone verification in Your info
(tests/accounts/test_phones.py tests the same rules there, the caps in detail).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import SmsOutbox
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
from threshold.accounts.models import PhoneNumber, VerificationCode, VerificationPurpose
from threshold.activity.models import Result, SecurityEvent
from threshold.security.models import MethodKind, SignInMethod

pytestmark = pytest.mark.django_db

GENEROUS = {"number": [(100, 3600)], "account": [(100, 3600)], "address": [(100, 3600)]}


def sign_in_codes() -> Any:
    return VerificationCode.objects.filter(purpose=VerificationPurpose.SIGN_IN)


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
    challenge = sign_in_codes().get()
    assert challenge.consumed_at is not None and code not in challenge.code_hash
    assert challenge.target == "+14255550123"
    # The text carries the origin-bound code line, as the verification texts do.
    assert sorted(sms_outbox.glob("*-sms.eml"))[-1].read_text().rstrip().endswith(f"#{code}")

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
    settings.PHONE_CODE_SEND_LIMITS = GENEROUS
    client = start_sign_in(user_with_text_messages)
    key = method_key(user_with_text_messages)
    send(client, key)
    code = last_text_message_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert verify(client, wrong, method=key).status_code == 400
    send(client, key)  # a new code keeps the count: 4 tries used, 1 left
    new_code = last_text_message_code(sms_outbox)
    assert sign_in_codes().get().attempts == 4
    assert verify(client, f"{(int(new_code) + 1) % 1_000_000:06d}", method=key).status_code == 400
    # The fifth wrong try killed it: even the right code is refused now.
    from threshold.verification import throttle

    throttle.clear_second_step_failures(user_with_text_messages.user)
    assert verify(client, new_code, method=key).status_code == 400
    assert sign_in_codes().get().attempts == 5
    page = send(client, key).content.decode()
    assert "Too many wrong codes" in page
    assert not is_signed_in(client)


def test_sending_is_capped_per_number(
    user_with_text_messages: Person, sms_outbox: Path, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "number": [(5, 3600)]}
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


def test_a_second_code_at_once_must_wait(user_with_text_messages: Person, sms_outbox: Path) -> None:
    # The default caps: one text per number every 30 seconds, whatever asked for it.
    client = start_sign_in(user_with_text_messages)
    key = method_key(user_with_text_messages)
    send(client, key)
    assert "Too many codes were sent" in send(client, key).content.decode()
    assert len(list(sms_outbox.glob("*-sms.eml"))) == 1


def test_sign_in_and_verification_texts_share_the_caps(
    person: Person, sms: SmsOutbox, commits: Commits, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "account": [(1, 3600)]}
    assert person.client.post("/your-info/phones/add/", {"number": "+14255550123"}).status_code == 302
    phone = PhoneNumber.objects.get(user=person.user)
    phone.verified_at = timezone.now()
    phone.save(update_fields=["verified_at"])
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    turn_on_two_step(person.client, commits)

    client = start_sign_in(person)
    page = send(client, method_key(person)).content.decode()

    assert "Too many codes were sent" in page
    assert len(sms.messages()) == 1  # the verification code only


def test_a_code_for_one_purpose_does_not_work_for_the_other(
    user_with_text_messages: Person, sms_outbox: Path
) -> None:
    from threshold.accounts import codes

    client = start_sign_in(user_with_text_messages)
    send(client, method_key(user_with_text_messages))
    code = last_text_message_code(sms_outbox)
    check = codes.check_code(
        user=user_with_text_messages.user,
        purpose=VerificationPurpose.PHONE,
        target="+14255550123",
        flow="",
        code=code,
    )
    assert check.outcome == codes.Outcome.NO_CODE
    assert verify(client, code, method=method_key(user_with_text_messages)).status_code == 302


class RefusingGateway:
    def send(self, *, to: str, body: str) -> None:
        from threshold.core.sms import SmsDeliveryError

        raise SmsDeliveryError("provider down")


def test_a_refused_text_message_is_left_failed_in_the_queue(
    user_with_text_messages: Person, settings: Any, caplog: Any
) -> None:
    # The text goes out from the worker after the page has answered (threshold.core.outgoing):
    # the page cannot know that the provider will refuse it. The refusal is the delivery task's
    # failure, logged and kept in the queue.
    settings.SMS_GATEWAY = "tests.security.test_text_messages.RefusingGateway"
    client = start_sign_in(user_with_text_messages)
    page = send(client, method_key(user_with_text_messages)).content.decode()
    assert "The text message could not be sent" not in page
    assert "path=threshold.core.tasks.deliver_text state=FAILED" in caplog.text
