from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_user
from threshold.activity.models import Result, SecurityEvent
from threshold.core.decisions import Decision
from threshold.core.errors import PolicyDenied
from threshold.orgs import policies

pytestmark = pytest.mark.django_db


def test_every_action_is_allowed_while_no_organisation_rule_exists() -> None:
    user = make_user()
    for action in policies.Action:
        decision = policies.evaluate(user, action)
        assert decision == Decision(allowed=True, reason_code="allowed")
        assert policies.require(user, action) is not None


def test_a_denial_is_raised_with_its_reason_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    denied = Decision.deny("org_requires_two_step", "Contoso requires it.", locked_by="Contoso")

    def evaluate(user: Any, action: Any) -> Decision:
        return denied

    monkeypatch.setattr(policies, "evaluate", evaluate)
    with pytest.raises(PolicyDenied) as raised:
        policies.require(user, policies.Action.TWO_STEP_DISABLE)
    assert raised.value.decision is denied
    event = SecurityEvent.objects.get(code="account:policy:deny")
    assert event.result == Result.BLOCKED
    assert event.details == {
        "action": "security:two_step:disable",
        "reason": "org_requires_two_step",
        "locked_by": "Contoso",
    }
