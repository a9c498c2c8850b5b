"""Demo data: a personal account and the organisation Contoso with an admin and a member."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from threshold.accounts.models import AccountKind, Organization, PhoneNumber, User
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import RequestContext

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
    work: bool


PEOPLE = [
    DemoPerson("alex.morgan@example.com", "Alex", "Morgan", "personal account", False),
    DemoPerson("megan.bowen@contoso.example", "Megan", "Bowen", "Contoso admin", True),
    DemoPerson("adele.vance@contoso.example", "Adele", "Vance", "Contoso member", True),
]


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
    """Create the demo organisation and people if missing; never touches existing ones."""
    contoso, _created = Organization.objects.get_or_create(
        slug="contoso", defaults={"name": "Contoso", "verified_domains": ["contoso.example"]}
    )
    result = []
    for person in PEOPLE:
        user = User.objects.filter(email__iexact=person.email).first()
        if user is not None:
            result.append(DemoSignIn(person.email, person.role, None))
            continue
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        user = User.objects.create_user(
            email=person.email,
            password=password,
            given_name=person.given_name,
            family_name=person.family_name,
            kind=AccountKind.WORK if person.work else AccountKind.PERSONAL,
            organization=contoso if person.work else None,
        )
        user.date_joined = timezone.now() - timedelta(days=20)
        user.save(update_fields=["date_joined"])
        EmailAddress.objects.create(user=user, email=person.email, primary=True, verified=True)
        if not person.work:
            PhoneNumber.objects.create(
                user=user, number="+14255550123", primary=True, verified_at=timezone.now()
            )
        _history(user)
        result.append(DemoSignIn(person.email, person.role, password))
    return result
