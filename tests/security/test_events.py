"""Every event type the security work added is emitted by something a person does."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.conftest import join_as_work_account
from tests.security.conftest import Commits, Person, browser, oathtool_code, sign_in, turn_on_two_step, verify
from threshold.accounts.models import Organization, PhoneNumber
from threshold.activity import catalog
from threshold.activity.models import SecurityEvent
from threshold.core.errors import PolicyDenied
from threshold.security import services, throttle
from threshold.security.models import MethodKind, SignInMethod

pytestmark = pytest.mark.django_db

SECURITY_EVENT_TYPES = {
    "account:method:add",
    "account:method:remove",
    "account:method:default",
    "account:2sv:enable",
    "account:2sv:disable",
    "account:recovery_codes:generate",
    "account:recovery_codes:use",
    "account:signin:second_step",
    "account:signin:second_step:failure",
    "account:signin:second_step:throttled",
    "account:signin:code_sent",
    "account:reauth:failure",
    "account:device:trust",
    "account:device:trust_revoke",
    "account:policy:deny",
}


def test_every_security_event_type_is_catalogued() -> None:
    assert set(catalog.CATALOG) >= SECURITY_EVENT_TYPES
    for code in SECURITY_EVENT_TYPES:
        assert str(catalog.get(code).label)


def test_a_persons_security_year_emits_every_security_event_type(
    user_with_totp: Person, commits: Commits, sms_outbox: object, org_requiring_mfa: Organization
) -> None:
    person = user_with_totp
    phone = PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    text = SignInMethod.objects.get(user=person.user, kind=MethodKind.TEXT_MESSAGE)
    with commits(execute=True):
        person.client.post(f"/security/methods/{text.public_id}/default/")
    codes = turn_on_two_step(person.client, commits)

    other = browser()
    sign_in(other, person.user)
    other.post("/security/verify/", {"method": f"text-message-{text.public_id}", "action": "send"})
    for _ in range(6):
        verify(other, "000000", method="app")
    throttle.clear_second_step_failures(person.user)
    with commits(execute=True):
        verify(other, codes[0], method="recovery-code", trust=True)

    person.client.post("/accounts/2fa/reauthenticate/", {"code": "000000"})
    with commits(execute=True):
        person.client.post(f"/security/methods/{text.public_id}/remove/")
        person.client.post("/security/two-step/off/")

    join_as_work_account(person.user, org_requiring_mfa)
    with pytest.raises(PolicyDenied):
        services.disable_two_step(user=person.user, request=None)

    emitted = set(SecurityEvent.objects.filter(user=person.user).values_list("code", flat=True))
    assert SECURITY_EVENT_TYPES - emitted == set()
    assert oathtool_code(person.secret)  # the app still exists
