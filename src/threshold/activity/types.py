"""The values the risk rules (risk.py) and the reads over past sign-ins (selectors.py) share.

They live here, below both, so that neither module imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from threshold.activity import catalog
from threshold.core.context import DeviceSummary, describe_user_agent


class Rule(StrEnum):
    NEW_DEVICE = "new_device"
    NEW_COUNTRY = "new_country"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    SUCCESS_AFTER_FAILURES = "success_after_failures"


@dataclass(frozen=True)
class PastSignIn:
    occurred_at: datetime
    user_agent: str
    country: str

    @property
    def device(self) -> DeviceSummary:
        return describe_user_agent(self.user_agent)


@dataclass(frozen=True)
class Reason:
    """One rule that fired, with the facts that make its words specific."""

    rule: Rule
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"rule": str(self.rule), **self.facts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reason | None:
        try:
            rule = Rule(data.get("rule", ""))
        except ValueError:
            return None  # a rule since retired: its rows stay, without words
        return cls(rule, {k: v for k, v in data.items() if k != "rule"})

    def text(self) -> str:
        """The reason in words, in the active language."""
        facts = self.facts
        if self.rule == Rule.NEW_DEVICE:
            return _("First sign-in from %(device)s") % {"device": facts.get("device") or _("this device")}
        if self.rule == Rule.NEW_COUNTRY:
            return _("First sign-in from %(country)s") % {
                "country": catalog.country_label(facts.get("country", ""))
            }
        if self.rule == Rule.IMPOSSIBLE_TRAVEL:
            minutes = int(facts.get("minutes", 0))
            if minutes >= 120:
                hours = minutes // 60
                earlier = ngettext("%(count)s hour earlier", "%(count)s hours earlier", hours) % {
                    "count": hours
                }
            else:
                earlier = ngettext("%(count)s minute earlier", "%(count)s minutes earlier", minutes) % {
                    "count": minutes
                }
            return _("%(km)s km from your sign-in in %(from)s %(earlier)s: faster than anyone can travel") % {
                "km": formats.number_format(int(facts.get("km", 0)), force_grouping=True),
                "from": catalog.country_label(facts.get("from", "")),
                "earlier": earlier,
            }
        failures = int(facts.get("failures", 0))
        return ngettext(
            "Came after %(count)s failed attempt to sign in",
            "Came after %(count)s failed attempts to sign in",
            failures,
        ) % {"count": failures}
