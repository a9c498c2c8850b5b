"""Reads about organisations; every one that lists people is scoped by organisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threshold.orgs import licences
from threshold.orgs.models import Membership, Organization


def memberships_of(user: Any) -> list[Membership]:
    """The person's organisations: the home one first, then guest ones by name."""
    return list(Membership.objects.filter(user=user).select_related("organization"))


def membership(user: Any, organization: Organization) -> Membership | None:
    return Membership.objects.filter(user=user, organization=organization).first()


def membership_by_public_id(user: Any, public_id: Any) -> Membership | None:
    """One of the person's own memberships (None for anyone else's)."""
    return Membership.objects.filter(user=user, public_id=public_id).select_related("organization").first()


def organization_for_domain(domain: str) -> Organization | None:
    """The organisation that verified ``domain`` (lower case), if any."""
    domain = domain.strip().lower().rstrip(".")
    if not domain or len(domain) > 253:
        return None
    # JSON list membership differs by database; the list of organisations is small and the
    # answer is the same on SQLite and PostgreSQL this way.
    for organization in Organization.objects.exclude(verified_domains=[]).only(
        "pk",
        "name",
        "verified_domains",
        "licence",
        "accent_colour",
        "sign_in_text",
        "logo_updated_at",
        "public_id",
    ):
        if domain in [str(d).lower() for d in organization.verified_domains or []]:
            return organization
    return None


@dataclass(frozen=True)
class Branding:
    """What the sign-in page shows for a recognised domain."""

    name: str
    public_id: str
    custom: bool  # Premium: logo, colour and text; Standard: the name only
    has_logo: bool
    logo_version: str
    accent_colour: str
    sign_in_text: str


def branding_for_email(email: str) -> Branding | None:
    """The sign-in branding for the domain of a typed email address.

    SECURITY: it depends on the domain alone, never on whether an account with this
    address exists, so it tells a visitor nothing that the domain's public DNS does not.
    """
    _local, at, domain = (email or "").strip().rpartition("@")
    if not at:
        return None
    organization = organization_for_domain(domain)
    if organization is None:
        return None
    custom = licences.has_feature(organization, licences.Feature.CUSTOM_BRANDING)
    return Branding(
        name=organization.name,
        public_id=str(organization.public_id),
        custom=custom,
        has_logo=custom and organization.logo_updated_at is not None,
        logo_version=str(int(organization.logo_updated_at.timestamp()))
        if organization.logo_updated_at
        else "",
        accent_colour=organization.accent_colour if custom else "",
        sign_in_text=organization.sign_in_text if custom else "",
    )


def logo_of(public_id: Any) -> tuple[bytes, Any] | None:
    """A Premium organisation's logo bytes and when they changed."""
    organization = (
        Organization.objects.filter(public_id=public_id, logo_updated_at__isnull=False)
        .only("logo", "logo_updated_at", "licence")
        .first()
    )
    if organization is None or organization.logo is None:
        return None
    if not licences.has_feature(organization, licences.Feature.CUSTOM_BRANDING):
        return None
    return bytes(organization.logo), organization.logo_updated_at


def accent_of(public_id: Any) -> str:
    organization = Organization.objects.filter(public_id=public_id).only("accent_colour", "licence").first()
    if organization is None or not licences.has_feature(organization, licences.Feature.CUSTOM_BRANDING):
        return ""
    return organization.accent_colour
