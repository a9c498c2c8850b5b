"""Every event type the security work added is emitted by something a person does."""

from __future__ import annotations

import pytest
from django.db.models import Max
from django.utils import timezone

from tests.conftest import join_as_work_account
from tests.security.conftest import Commits, Person, browser, oathtool_code, sign_in, turn_on_two_step, verify
from threshold.accounts.models import Organization, PhoneNumber, User
from threshold.activity.models import SecurityEvent
from threshold.core.errors import PolicyDenied
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.services.two_step import disable_two_step
from threshold.verification import throttle

pytestmark = pytest.mark.django_db


class NewEvents:
    """The codes of the events recorded about one account since the last look."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.seen = self._newest()

    def _newest(self) -> int:
        return SecurityEvent.objects.filter(user=self.user).aggregate(newest=Max("pk"))["newest"] or 0

    def __call__(self) -> set[str]:
        rows = SecurityEvent.objects.filter(user=self.user, pk__gt=self.seen)
        codes = set(rows.values_list("code", flat=True))
        self.seen = self._newest()
        return codes


def test_a_persons_security_year_records_each_step(
    user_with_totp: Person, commits: Commits, sms_outbox: object, org_requiring_mfa: Organization
) -> None:
    """Each step of a year of security changes records its own event, as the person did it.

    (That every catalogued type is emitted by some path is checked for the whole suite by
    tests/emitted_events.py, not by a list here.)
    """
    person = user_with_totp
    new_events = NewEvents(person.user)
    phone = PhoneNumber.objects.create(user=person.user, number="+14255550123", verified_at=timezone.now())
    with commits(execute=True):
        person.client.post("/security/add/text-message/", {"phone": phone.pk})
    assert "account:method:add" in new_events()
    text = SignInMethod.objects.get(user=person.user, kind=MethodKind.TEXT_MESSAGE)
    with commits(execute=True):
        person.client.post(f"/security/methods/{text.public_id}/default/")
    assert "account:method:default" in new_events()
    codes = turn_on_two_step(person.client, commits)
    assert {"account:2sv:enable", "account:recovery_codes:generate"} <= new_events()

    other = browser()
    sign_in(other, person.user)
    other.post("/security/verify/", {"method": f"text-message-{text.public_id}", "action": "send"})
    assert "account:signin:code_sent" in new_events()
    for _ in range(6):
        verify(other, "000000", method="app")
    assert {"account:signin:second_step:failure", "account:signin:second_step:throttled"} <= new_events()
    throttle.clear_second_step_failures(person.user)
    with commits(execute=True):
        verify(other, codes[0], method="recovery-code", trust=True)
    assert {
        "account:recovery_codes:use",
        "account:signin:second_step",
        "account:device:trust",
    } <= new_events()

    person.client.post("/accounts/2fa/reauthenticate/", {"code": "000000"})
    assert "account:reauth:failure" in new_events()
    with commits(execute=True):
        person.client.post(f"/security/methods/{text.public_id}/remove/")
        person.client.post("/security/two-step/off/")
    assert {"account:method:remove", "account:2sv:disable", "account:device:trust_revoke"} <= new_events()

    join_as_work_account(person.user, org_requiring_mfa)
    with pytest.raises(PolicyDenied):
        disable_two_step(user=person.user, request=None)
    assert new_events() == {"account:policy:deny"}
    assert oathtool_code(person.secret)  # the app still exists
