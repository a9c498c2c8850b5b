"""What each licence tier includes.

Safety features are in every tier and never appear here: two-step verification, passkeys,
self-service password reset, security alerts and "Lock my account". Only the extras an
organisation pays for are gated, and a page that meets one beyond the licence says
"Available with Premium" instead of looking broken.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _

from threshold.core.decisions import Decision
from threshold.orgs.models import LicenceTier


class Feature(StrEnum):
    RISK_BASED_SIGN_IN = "risk_based_sign_in"
    LONG_RETENTION = "long_retention"
    CUSTOM_BRANDING = "custom_branding"
    SIGN_IN_REPORT_EXPORT = "sign_in_report_export"


TIER_FEATURES: dict[str, frozenset[Feature]] = {
    LicenceTier.STANDARD: frozenset(),
    LicenceTier.PREMIUM: frozenset(Feature),
}

# The policy settings that only take effect with a feature (orgs.services.update_policy
# refuses to change them beyond the licence, and policies ignores them after a downgrade).
POLICY_FIELD_FEATURES: dict[str, Feature] = {
    "unfamiliar_sign_in": Feature.RISK_BASED_SIGN_IN,
    "activity_retention_days": Feature.LONG_RETENTION,
}


def has_feature(organization: Any, feature: Feature) -> bool:
    """Whether ``organization``'s licence includes ``feature`` (no organisation: no extras)."""
    if organization is None:
        return False
    return feature in TIER_FEATURES.get(organization.licence, frozenset())


def feature_decision(organization: Any, feature: Feature) -> Decision:
    """Allowed, or denied with "Available with Premium" (reason ``licence_required``)."""
    if has_feature(organization, feature):
        return Decision.allow()
    return Decision.deny(
        "licence_required",
        _("Available with Premium. Ask the operator of this portal to upgrade your organization's licence."),
        locked_by=getattr(organization, "name", ""),
    )
