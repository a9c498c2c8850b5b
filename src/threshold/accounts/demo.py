"""Demo data: a personal account, Contoso (Premium) and Fabrikam (Standard), each with an admin and a member."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from threshold.accounts.models import AccountKind, PhoneNumber, User
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import RequestContext
from threshold.orgs.models import (
    LicenceTier,
    Membership,
    Organization,
    OrganizationPolicy,
    Role,
    TextMessages,
    UnfamiliarSignIn,
)

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:133.0) Gecko/20100101 Firefox/133.0"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    given_name: str
    family_name: str
    role: str
    org: str = ""  # the slug of the home organisation; "" for a personal account
    org_role: str = Role.MEMBER
    guest_of: tuple[str, ...] = ()


PEOPLE = [
    DemoPerson("alex.morgan@example.com", "Alex", "Morgan", "personal account"),
    DemoPerson(
        "megan.bowen@contoso.com", "Megan", "Bowen", "Contoso global admin", "contoso", Role.GLOBAL_ADMIN
    ),
    DemoPerson(
        "adele.vance@contoso.com", "Adele", "Vance", "Contoso member", "contoso", guest_of=("fabrikam",)
    ),
    DemoPerson(
        "pradeep.gupta@fabrikam.com",
        "Pradeep",
        "Gupta",
        "Fabrikam global admin",
        "fabrikam",
        Role.GLOBAL_ADMIN,
    ),
    DemoPerson("lidia.holloway@fabrikam.com", "Lidia", "Holloway", "Fabrikam member", "fabrikam"),
]

ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "contoso": {
        "name": "Contoso",
        "licence": LicenceTier.PREMIUM,
        "verified_domains": ["contoso.com"],
        "contact": "it-help@contoso.com",
        "accent_colour": "#0f6cbd",
        "sign_in_text": "Use your Contoso email address and password.",
    },
    "fabrikam": {
        "name": "Fabrikam",
        "licence": LicenceTier.STANDARD,
        "verified_domains": ["fabrikam.com"],
        "contact": "helpdesk@fabrikam.com",
    },
}

POLICIES: dict[str, dict[str, Any]] = {
    "contoso": {
        "require_two_step": True,
        "two_step_grace_days": 14,
        "text_messages": TextMessages.NOT_ADMINS,
        "lock_names": True,
        "profile_lock_reason": "They come from Contoso's HR directory.",
        "password_min_length": 12,
        "password_banned_words": ["contoso"],
        "unfamiliar_sign_in": UnfamiliarSignIn.SECOND_STEP,
        "activity_retention_days": 365,
        "members_may_close_account": False,
    },
    "fabrikam": {"require_two_step": False, "self_service_password_reset": True},
}


def _organizations() -> dict[str, Organization]:
    """The demo organisations and their policies, created once; later runs change nothing."""
    result = {}
    for slug, fields in ORGANIZATIONS.items():
        organization, created = Organization.objects.get_or_create(slug=slug, defaults=fields)
        if created:
            OrganizationPolicy.objects.create(
                organization=organization, two_step_required_since=timezone.now(), **POLICIES[slug]
            )
        result[slug] = organization
    return result


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    role: str
    password: str | None  # None when the account already existed


def _history(user: User) -> None:
    now = timezone.now()
    laptop = RequestContext(ip="81.2.69.160", user_agent=WINDOWS_CHROME)
    phone = RequestContext(ip="89.160.20.112", user_agent=IPHONE_SAFARI)
    elsewhere = RequestContext(ip="200.160.2.3", user_agent=MAC_FIREFOX)
    record_event("account:create", user=user, context=laptop, occurred_at=now - timedelta(days=20))
    record_event(
        "account:email:verify",
        user=user,
        context=laptop,
        occurred_at=now - timedelta(days=20),
        details={"email": user.email},
    )
    record_event(
        "account:signin:success",
        user=user,
        context=laptop,
        method="password",
        occurred_at=now - timedelta(days=12),
    )
    record_event(
        "account:profile:update",
        user=user,
        context=laptop,
        occurred_at=now - timedelta(days=12),
        details={"fields": ["display_name"]},
    )
    record_event(
        "account:signin:success",
        user=user,
        context=phone,
        method="password",
        occurred_at=now - timedelta(days=5),
    )
    record_event(
        "account:signin:failure",
        user=user,
        context=elsewhere,
        method="password",
        result=Result.FAILURE,
        occurred_at=now - timedelta(days=2),
    )
    record_event(
        "account:signin:success",
        user=user,
        context=laptop,
        method="password",
        occurred_at=now - timedelta(hours=20),
    )


@transaction.atomic
def load_demo() -> list[DemoSignIn]:
    """Create the demo organisations and people if missing; never touches existing ones."""
    organizations = _organizations()
    result = []
    for person in PEOPLE:
        user = User.objects.filter(email__iexact=person.email).first()
        if user is not None:
            result.append(DemoSignIn(person.email, person.role, None))
            continue
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        organization = organizations[person.org] if person.org else None
        user = User.objects.create_user(
            email=person.email,
            password=password,
            given_name=person.given_name,
            family_name=person.family_name,
            kind=AccountKind.WORK if organization else AccountKind.PERSONAL,
            organization=organization,
        )
        user.date_joined = timezone.now() - timedelta(days=20)
        user.save(update_fields=["date_joined"])
        EmailAddress.objects.create(user=user, email=person.email, primary=True, verified=True)
        if organization is not None:
            Membership.objects.create(
                user=user,
                organization=organization,
                role=person.org_role,
                home=True,
                created_at=user.date_joined,
            )
        for slug in person.guest_of:
            Membership.objects.create(
                user=user, organization=organizations[slug], role=Role.MEMBER, home=False
            )
        if organization is None:
            PhoneNumber.objects.create(
                user=user, number="+14255550123", primary=True, verified_at=timezone.now()
            )
        _history(user)
        result.append(DemoSignIn(person.email, person.role, password))
    return result
