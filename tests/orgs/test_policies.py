from __future__ import annotations

import pytest

from tests.conftest import join_as_work_account, make_user
from threshold.activity.models import Result, SecurityEvent
from threshold.core.decisions import Decision
from threshold.core.errors import PolicyDenied
from threshold.orgs import policies
from threshold.orgs.models import Organization

pytestmark = pytest.mark.django_db


def test_every_action_is_allowed_while_no_organisation_rule_exists() -> None:
    user = make_user()
    for action in policies.Action:
        decision = policies.evaluate(user, action)
        assert decision == Decision(allowed=True, reason_code="allowed")
        assert policies.require(user, action) is not None


def test_a_denial_is_raised_with_its_reason_and_recorded(org_requiring_mfa: Organization) -> None:
    user = join_as_work_account(make_user("megan@contoso.example"), org_requiring_mfa)
    with pytest.raises(PolicyDenied) as raised:
        policies.require(user, policies.Action.TWO_STEP_DISABLE)
    assert raised.value.decision == policies.evaluate(user, policies.Action.TWO_STEP_DISABLE)
    assert raised.value.decision.reason_code == "org_requires_two_step"
    assert raised.value.decision.locked_by == "Contoso"
    assert "Your organization requires two-step verification." in raised.value.decision.message
    event = SecurityEvent.objects.get(code="account:policy:deny")
    assert event.result == Result.BLOCKED
    assert event.details == {
        "action": "security:two_step:disable",
        "reason": "org_requires_two_step",
        "locked_by": "Contoso",
    }
