"""Phone numbers: add, verify by text-message code, make primary, remove, and the limits."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD, Clock, Mailbox, SmsOutbox, make_user
from threshold.accounts import phones, services
from threshold.accounts.models import PhoneNumber, User, VerificationCode
from threshold.activity.models import SecurityEvent
from threshold.core.errors import FreshSignInRequired
from threshold.security.models import MethodKind, SecuritySettings, SignInMethod

pytestmark = pytest.mark.django_db

MOBILE = "+34612345678"
OTHER_MOBILE = "+34622334455"
GENEROUS = {"number": [(100, 3600)], "account": [(100, 3600)], "address": [(100, 3600)]}


def add(client: Any, number: str, region: str = "") -> Any:
    return client.post("/your-info/phones/add/", {"number": number, "region": region})


def verify_url(phone: PhoneNumber) -> str:
    return f"/your-info/phones/{phone.public_id}/verify/"


def enter(client: Any, phone: PhoneNumber, code: str) -> Any:
    return client.post(verify_url(phone), {"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def events(code: str) -> int:
    return SecurityEvent.objects.filter(code=code).count()


@pytest.fixture
def generous_limits(settings: Any) -> None:
    settings.PHONE_CODE_SEND_LIMITS = GENEROUS


def test_add_and_verify_a_number(signed_in_client: Any, user: User, sms: SmsOutbox) -> None:
    response = add(signed_in_client, "612 34 56 78", region="ES")

    phone = PhoneNumber.objects.get(user=user)
    assert phone.number == MOBILE  # stored in E.164
    assert not phone.verified
    assert response.status_code == 302
    assert response["Location"] == verify_url(phone)
    text = sms.messages(MOBILE)[-1]
    assert "verification code" in text
    assert text.rstrip().endswith(f"#{sms.last_code(MOBILE)}")  # origin-bound code line
    code_row = VerificationCode.objects.get(user=user, target=MOBILE)
    assert sms.last_code(MOBILE) not in code_row.code_hash  # only a keyed hash is stored
    assert len(code_row.code_hash) == 64
    page = signed_in_client.get(verify_url(phone)).content.decode()
    assert "+34 612 34 56 78" in page

    response = enter(signed_in_client, phone, sms.last_code(MOBILE))

    assert response.status_code == 302
    phone.refresh_from_db()
    assert phone.verified
    assert phone.primary  # the first verified number becomes primary
    assert events("account:phone:add") == 1
    assert events("account:phone:verify") == 1
    assert events("account:phone:primary") == 1
    assert SecurityEvent.objects.get(code="account:phone:verify").details == {"number": MOBILE}
    your_info = signed_in_client.get("/your-info/").content.decode()
    assert "+34 612 34 56 78" in your_info
    assert "Verified" in your_info


def test_the_code_page_is_reachable_from_your_info(signed_in_client: Any, user: User, sms: SmsOutbox) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    page = signed_in_client.get("/your-info/").content.decode()
    assert f'href="{verify_url(phone)}"' in page
    assert "Not verified" in page


@pytest.mark.parametrize(
    ("number", "region", "message"),
    [
        ("12", "ES", "isn&#x27;t a valid phone number"),
        ("call me maybe", "ES", "doesn&#x27;t look like a phone number"),
        ("612345678", "", "Choose the country or region"),
        ("+44 20 7946 0000", "", "landline"),
        ("+1 900 555 0123", "", "premium-rate"),
        ("", "", "Enter a phone number"),
    ],
)
def test_invalid_numbers_get_a_clear_message(
    signed_in_client: Any, user: User, sms: SmsOutbox, number: str, region: str, message: str
) -> None:
    response = add(signed_in_client, number, region)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PhoneNumber.objects.filter(user=user).exists()
    assert sms.messages() == []


def test_the_region_comes_from_the_locale_or_the_country() -> None:
    assert phones.default_region("en-GB", "") == "GB"
    assert phones.default_region("en", "ES") == "ES"
    assert phones.default_region("es", "") == ""
    assert phones.parse_phone_number("07911 123456", "GB") == "+447911123456"
    assert phones.parse_phone_number("(201) 555-0123", "US") == "+12015550123"


def test_region_names_follow_the_language() -> None:
    assert ("ES", "Spain (+34)") in phones.region_choices("en")
    assert ("ES", "España (+34)") in phones.region_choices("es")


def test_a_number_cannot_be_added_twice(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    response = add(signed_in_client, "+34 612 345 678")
    assert response.status_code == 400
    assert "already added this phone number" in response.content.decode()
    assert PhoneNumber.objects.filter(user=user).count() == 1


def test_at_most_five_numbers(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    for index in range(5):
        assert add(signed_in_client, f"+3461234560{index}").status_code == 302
    assert "the most you can add" in signed_in_client.get("/your-info/").content.decode()
    response = add(signed_in_client, "+34612345609")
    assert response.status_code == 400
    assert "up to 5 phone numbers" in response.content.decode()
    assert PhoneNumber.objects.filter(user=user).count() == 5


def test_five_wrong_codes_stop_the_code(signed_in_client: Any, user: User, sms: SmsOutbox) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    code = sms.last_code(MOBILE)

    for tries_left in (4, 3, 2, 1):
        response = enter(signed_in_client, phone, wrong(code))
        assert response.status_code == 400
        assert "isn&#x27;t right" in response.content.decode()
        assert f"{tries_left} tr" in response.content.decode()
    response = enter(signed_in_client, phone, wrong(code))
    assert "wrong code too many times" in response.content.decode()

    response = enter(signed_in_client, phone, code)  # even the right code is refused now

    assert response.status_code == 400
    assert "wrong code too many times" in response.content.decode()
    phone.refresh_from_db()
    assert not phone.verified
    assert events("account:phone:locked") == 1
    assert events("account:phone:verify") == 0


def test_asking_for_a_new_code_keeps_the_count_of_wrong_tries(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    first = sms.last_code(MOBILE)
    for _ in range(3):
        enter(signed_in_client, phone, wrong(first))

    signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/")

    second = sms.last_code(MOBILE)
    assert len(sms.messages(MOBILE)) == 2
    response = enter(signed_in_client, phone, wrong(second))
    assert "1 try left" in response.content.decode()
    enter(signed_in_client, phone, wrong(second))
    response = enter(signed_in_client, phone, second)
    assert "wrong code too many times" in response.content.decode()
    # And a further code is not sent at all while the number is stopped.
    response = signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/", follow=True)
    assert "wrong code too many times" in response.content.decode()
    assert len(sms.messages(MOBILE)) == 2
    assert VerificationCode.objects.filter(target=MOBILE).count() == 1


def test_a_new_code_replaces_the_old_one(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    first = sms.last_code(MOBILE)
    signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/")
    second = sms.last_code(MOBILE)
    if first != second:
        assert "isn&#x27;t right" in enter(signed_in_client, phone, first).content.decode()
    assert enter(signed_in_client, phone, second).status_code == 302


def test_removing_and_adding_again_does_not_reset_the_wrong_tries(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    for _ in range(5):
        enter(signed_in_client, phone, wrong(sms.last_code(MOBILE)))
    signed_in_client.post(f"/your-info/phones/{phone.public_id}/remove/")

    response = add(signed_in_client, MOBILE)

    assert response.status_code == 400
    assert "wrong code too many times" in response.content.decode()
    assert not PhoneNumber.objects.filter(user=user).exists()


def test_the_try_count_lasts_only_its_window(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None, settings: Any
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    for _ in range(5):
        enter(signed_in_client, phone, wrong(sms.last_code(MOBILE)))
    later = timezone.now() - timedelta(seconds=settings.PHONE_CODE_TRY_WINDOW + 1)
    VerificationCode.objects.filter(target=MOBILE).update(created_at=later)

    signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/")

    assert enter(signed_in_client, phone, sms.last_code(MOBILE)).status_code == 302


def test_an_expired_code_is_refused(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    code = sms.last_code(MOBILE)
    VerificationCode.objects.filter(target=MOBILE).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = enter(signed_in_client, phone, code)

    assert response.status_code == 400
    assert "This code has expired" in response.content.decode()
    phone.refresh_from_db()
    assert not phone.verified
    signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/")
    assert enter(signed_in_client, phone, sms.last_code(MOBILE)).status_code == 302


def test_a_code_works_only_once(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    code = sms.last_code(MOBILE)
    stale = PhoneNumber.objects.get(pk=phone.pk)  # loaded before the code is used
    assert enter(signed_in_client, phone, code).status_code == 302

    response = enter(signed_in_client, phone, code)

    assert response.status_code == 302  # the number is already verified: nothing to do
    assert events("account:phone:verify") == 1
    assert VerificationCode.objects.get(target=MOBILE).consumed_at is not None
    with pytest.raises(ValidationError) as refused:
        services.verify_phone_number(user=user, request=None, phone=stale, code=code)
    assert refused.value.code == "no_code"
    # A number removed and added again needs its new code; the used one stays used.
    signed_in_client.post(f"/your-info/phones/{phone.public_id}/remove/")
    add(signed_in_client, MOBILE)
    again = PhoneNumber.objects.get(user=user)
    if sms.last_code(MOBILE) != code:
        assert "isn&#x27;t right" in enter(signed_in_client, again, code).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel writers need PostgreSQL")
def test_parallel_use_of_one_code_verifies_once(sms: SmsOutbox, settings: Any) -> None:
    settings.PHONE_CODE_SEND_LIMITS = GENEROUS
    user = make_user("race@example.com")
    phone = PhoneNumber.objects.create(user=user, number=MOBILE)
    assert services.send_phone_code(user=user, request=None, phone=phone)
    code = sms.last_code(MOBILE)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        from django.db import connections

        barrier.wait()
        try:
            services.verify_phone_number(user=user, request=None, phone=phone, code=code)
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(str(exc.code))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 1, outcomes
    assert SecurityEvent.objects.filter(code="account:phone:verify").count() == 1


def test_a_new_code_must_wait_a_little(signed_in_client: Any, user: User, sms: SmsOutbox) -> None:
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)

    response = signed_in_client.post(f"/your-info/phones/{phone.public_id}/resend/", follow=True)

    assert "several codes in a short time" in response.content.decode()
    assert len(sms.messages(MOBILE)) == 1
    event = SecurityEvent.objects.get(code="account:phone:throttled")
    assert event.result == "blocked"
    assert 0 < event.details["retry_after"] <= 30


def test_codes_per_number_are_capped(
    signed_in_client: Any, user: User, sms: SmsOutbox, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "number": [(3, 3600)]}
    add(signed_in_client, MOBILE)
    phone = PhoneNumber.objects.get(user=user)
    resend = f"/your-info/phones/{phone.public_id}/resend/"
    signed_in_client.post(resend)
    signed_in_client.post(resend)

    response = signed_in_client.post(resend, follow=True)

    assert "several codes in a short time" in response.content.decode()
    assert len(sms.messages(MOBILE)) == 3


def test_the_number_cap_holds_across_accounts(
    signed_in_client: Any, user: User, sms: SmsOutbox, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "number": [(1, 3600)]}
    add(signed_in_client, MOBILE)
    other = make_user("grace@example.com")
    other_client = Client()
    other_client.post("/accounts/login/", {"login": other.email, "password": PASSWORD})

    response = add(other_client, MOBILE)

    assert response.status_code == 400
    assert "several codes in a short time" in response.content.decode()
    assert not PhoneNumber.objects.filter(user=other).exists()  # nothing half-saved
    assert len(sms.messages(MOBILE)) == 1


def test_codes_per_account_are_capped(
    signed_in_client: Any, user: User, sms: SmsOutbox, settings: Any
) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "account": [(2, 3600)]}
    assert add(signed_in_client, MOBILE).status_code == 302
    assert add(signed_in_client, OTHER_MOBILE).status_code == 302

    response = add(signed_in_client, "+34633445566")

    assert response.status_code == 400
    assert "several codes in a short time" in response.content.decode()
    assert PhoneNumber.objects.filter(user=user).count() == 2
    assert events("account:phone:throttled") == 1


def test_codes_per_client_address_are_capped(sms: SmsOutbox, settings: Any, db: Any) -> None:
    settings.PHONE_CODE_SEND_LIMITS = {**GENEROUS, "address": [(2, 3600)]}
    clients = []
    for name in ("one", "two", "three"):
        person = make_user(f"{name}@example.com")
        client = Client(REMOTE_ADDR="203.0.113.7")
        client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})
        clients.append(client)
    assert add(clients[0], MOBILE).status_code == 302
    assert add(clients[1], OTHER_MOBILE).status_code == 302

    response = add(clients[2], "+34633445566")

    assert response.status_code == 400
    assert "several codes in a short time" in response.content.decode()
    assert Client(REMOTE_ADDR="198.51.100.1").get("/healthz").status_code == 200
    elsewhere = Client(REMOTE_ADDR="198.51.100.1")
    elsewhere.post("/accounts/login/", {"login": "three@example.com", "password": PASSWORD})
    assert add(elsewhere, "+34633445566").status_code == 302


def test_a_refused_text_message_is_left_failed_in_the_queue(
    signed_in_client: Any, user: User, settings: Any, tmp_path: Any, caplog: Any
) -> None:
    # The text goes out from the worker, after the page has answered (threshold.core.outgoing),
    # so the page cannot know; the refusal is the delivery task's failure, logged and kept.
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    settings.SMS_GATEWAY = "threshold.core.sms.OutboxSmsGateway"
    settings.OUTBOX_DIR = not_a_directory

    response = add(signed_in_client, MOBILE)

    phone = PhoneNumber.objects.get(user=user)
    assert response["Location"] == verify_url(phone)
    page = signed_in_client.get(response["Location"]).content.decode()
    assert "Send a new code" in page
    assert "path=threshold.core.tasks.deliver_text state=FAILED" in caplog.text


def test_make_primary_needs_a_verified_number(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    add(signed_in_client, MOBILE)
    first = PhoneNumber.objects.get(number=MOBILE)
    enter(signed_in_client, first, sms.last_code(MOBILE))
    add(signed_in_client, OTHER_MOBILE)
    second = PhoneNumber.objects.get(number=OTHER_MOBILE)

    response = signed_in_client.post(f"/your-info/phones/{second.public_id}/primary/", follow=True)

    assert "Verify this phone number before making it primary" in response.content.decode()
    second.refresh_from_db()
    assert not second.primary

    enter(signed_in_client, second, sms.last_code(OTHER_MOBILE))
    signed_in_client.post(f"/your-info/phones/{second.public_id}/primary/")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.primary, second.primary) == (False, True)
    assert events("account:phone:primary") == 2  # first verification, then the switch


def test_removing_the_primary_number_promotes_the_next_verified_one(
    signed_in_client: Any, user: User, sms: SmsOutbox, generous_limits: None
) -> None:
    for number in (MOBILE, OTHER_MOBILE):
        add(signed_in_client, number)
        enter(signed_in_client, PhoneNumber.objects.get(number=number), sms.last_code(number))
    primary = PhoneNumber.objects.get(primary=True)
    assert primary.number == MOBILE

    response = signed_in_client.post(f"/your-info/phones/{primary.public_id}/remove/", follow=True)

    assert "was removed" in response.content.decode()
    assert list(PhoneNumber.objects.filter(user=user).values_list("number", "primary")) == [
        (OTHER_MOBILE, True)
    ]
    assert SecurityEvent.objects.get(code="account:phone:remove").details == {"number": MOBILE}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", "verify/"), ("post", "verify/"), ("post", "resend/"), ("post", "primary/"), ("post", "remove/")],
)
def test_another_persons_number_is_not_found(
    signed_in_client: Any, user: User, sms: SmsOutbox, method: str, suffix: str
) -> None:
    other = make_user("grace@example.com")
    phone = PhoneNumber.objects.create(user=other, number=MOBILE)

    response = getattr(signed_in_client, method)(
        f"/your-info/phones/{phone.public_id}/{suffix}", {"code": "123456"}
    )

    assert response.status_code == 404
    assert PhoneNumber.objects.filter(pk=phone.pk, verified_at__isnull=True).exists()
    assert sms.messages() == []


def test_phone_pages_need_a_signed_in_person(client: Any, db: Any) -> None:
    response = add(client, MOBILE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("change", ["add", "primary", "remove"])
def test_phone_changes_need_a_recent_sign_in(
    signed_in_client: Any, user: User, sms: SmsOutbox, clock: Clock, change: str
) -> None:
    # Phones can be sign-in methods, so they follow threshold.security's rule for every
    # sign-in security change: a sign-in (or re-sign-in) within the last 10 minutes.
    phone = PhoneNumber.objects.create(user=user, number=OTHER_MOBILE, verified_at=timezone.now())
    clock.advance(601)

    if change == "add":
        response = add(signed_in_client, MOBILE)
    else:
        response = signed_in_client.post(f"/your-info/phones/{phone.public_id}/{change}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert list(PhoneNumber.objects.filter(user=user).values_list("number", "primary")) == [
        (OTHER_MOBILE, False)
    ]
    assert sms.messages() == []
    assert not SecurityEvent.objects.filter(code__startswith="account:phone:").exists()

    # Signing in again finishes the change that was asked for (allauth keeps the request).
    response = signed_in_client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    expected = {
        "add": "account:phone:add",
        "primary": "account:phone:primary",
        "remove": "account:phone:remove",
    }
    assert events(expected[change]) == 1


def test_phone_services_need_a_recent_sign_in(user: User, sms: SmsOutbox) -> None:
    phone = PhoneNumber.objects.create(user=user, number=OTHER_MOBILE, verified_at=timezone.now())
    # No request at all (a script, a task) is no proof of a recent sign-in either.
    with pytest.raises(FreshSignInRequired):
        services.add_phone_number(user=user, request=None, number=MOBILE)
    with pytest.raises(FreshSignInRequired):
        services.make_phone_primary(user=user, request=None, phone=phone)
    with pytest.raises(FreshSignInRequired):
        services.remove_phone_number(user=user, request=None, phone=phone)
    assert PhoneNumber.objects.filter(user=user).count() == 1
    assert sms.messages() == []


def test_fresh_phone_changes_need_no_second_sign_in(
    signed_in_client: Any, user: User, sms: SmsOutbox, settings: Any
) -> None:
    # The sign-in a moment ago counts, even with allauth's own confirm-it's-you setting on.
    settings.ACCOUNT_REAUTHENTICATION_REQUIRED = True
    response = add(signed_in_client, MOBILE)
    assert response["Location"] == verify_url(PhoneNumber.objects.get(user=user))


def _text_message_method(user: User, number: str) -> SignInMethod:
    phone = PhoneNumber.objects.create(user=user, number=number, verified_at=timezone.now())
    return SignInMethod.objects.create(user=user, kind=MethodKind.TEXT_MESSAGE, name=number[-4:], phone=phone)


def test_the_last_sign_in_method_cannot_be_removed_in_your_info(
    signed_in_client: Any, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    method = _text_message_method(user, MOBILE)
    SecuritySettings.objects.create(user=user, two_step_enabled=True)
    phone = PhoneNumber.objects.get(number=MOBILE)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_client.post(f"/your-info/phones/{phone.public_id}/remove/", follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/your-info/"
    assert "This phone number is your only sign-in method, and two-step verification needs one." in page
    assert "Add another method on Security info first, or turn off two-step verification." in page
    assert "was removed" not in page
    assert PhoneNumber.objects.filter(pk=phone.pk).exists()
    assert SignInMethod.objects.filter(pk=method.pk).exists()
    assert events("account:phone:remove") == 0
    assert mailbox.messages == []


def test_a_phone_that_receives_sign_in_codes_takes_its_method_with_it(
    signed_in_client: Any, user: User, mailbox: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    _text_message_method(user, MOBILE)
    _text_message_method(user, OTHER_MOBILE)  # another method, so 2SV keeps one
    SecuritySettings.objects.create(user=user, two_step_enabled=True)
    phone = PhoneNumber.objects.get(number=MOBILE)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in_client.post(f"/your-info/phones/{phone.public_id}/remove/", follow=True)

    assert "was removed" in response.content.decode()
    assert list(SignInMethod.objects.filter(user=user).values_list("phone__number", flat=True)) == [
        OTHER_MOBILE
    ]
    assert SecurityEvent.objects.get(code="account:phone:remove").details == {
        "number": MOBILE,
        "sign_in_method": True,
    }
    assert SecurityEvent.objects.get(code="account:method:remove").details["with_phone"] is True
    # One change, one alert: the phone's, which says the sign-in codes went with it.
    [alert] = mailbox.to(user.email)
    assert str(alert["Subject"]) == "Threshold: Security alert: Phone number removed"
    assert "It no longer receives sign-in codes." in Mailbox.text(alert)
