"""Reads for the admin console. Every one takes the organisation and never reads past it.

SECURITY: a member is found by their membership's public id *inside* the organisation, so
another organisation's member is "not found" (404), never "not allowed"; the sign-in and
audit logs are the security events of the organisation's own accounts (``User.organization``)
and of the console's actions on its guests (``details.org_id``), limited to the event types
the catalogue marks ``org_visible``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleLessThan
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from threshold.activity import catalog
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.selectors import decode_cursor, encode_cursor
from threshold.devices.selectors import active_devices
from threshold.orgs.models import ADMIN_ROLES, Membership, Organization, Role
from threshold.orgs.policies import methods_reset_enrolment
from threshold.recovery.models import TemporaryAccessPass
from threshold.security.models import SecuritySettings, SignInMethod
from threshold.security.selectors.methods import recovery_codes_left, sign_in_methods

MEMBERS_PER_PAGE = 50
EVENTS_PER_PAGE = 50
EXPORT_LIMIT = 50_000
DEFAULT_STALE_DAYS = 90


# --- Members ---------------------------------------------------------------------------------


class MemberFilter(StrEnum):
    ALL = "all"
    NO_TWO_STEP = "no_two_step"
    STALE = "stale"
    BLOCKED = "blocked"  # blocked by an admin, or locked by the person


@dataclass(frozen=True)
class MemberQuery:
    search: str = ""
    show: MemberFilter = MemberFilter.ALL
    role: str = ""
    stale_days: int = DEFAULT_STALE_DAYS


def _with_two_step(rows: QuerySet[Membership]) -> QuerySet[Membership]:
    return rows.annotate(
        two_step_on=Exists(SecuritySettings.objects.filter(user=OuterRef("user"), two_step_enabled=True)),
        has_method=Exists(SignInMethod.objects.filter(user=OuterRef("user"))),
    )


def members(organization: Organization, query: MemberQuery) -> QuerySet[Membership]:
    """The organisation's memberships matching ``query``, by email."""
    rows = _with_two_step(Membership.objects.filter(organization=organization).select_related("user"))
    search = query.search.strip()
    if search:
        rows = rows.filter(
            Q(user__email__icontains=search)
            | Q(user__given_name__icontains=search)
            | Q(user__family_name__icontains=search)
            | Q(user__display_name__icontains=search)
        )
    if query.role in Role.values:
        rows = rows.filter(role=query.role)
    if query.show == MemberFilter.NO_TWO_STEP:
        rows = rows.exclude(two_step_on=True, has_method=True)  # type: ignore[misc]
    elif query.show == MemberFilter.STALE:
        since = timezone.now() - timedelta(days=query.stale_days)
        rows = rows.filter(Q(user__last_login__lt=since) | Q(user__last_login__isnull=True))
    elif query.show == MemberFilter.BLOCKED:
        rows = rows.filter(Q(user__is_active=False) | Q(user__locked_at__isnull=False))
    return rows.order_by("user__email", "pk")


def members_page(organization: Organization, query: MemberQuery, page: Any) -> Page[Membership]:
    return Paginator(members(organization, query), MEMBERS_PER_PAGE).get_page(page)


def membership(organization: Organization, public_id: Any) -> Membership | None:
    """One membership of this organisation by its public id; None for any other (or a bad id)."""
    try:
        return (
            _with_two_step(Membership.objects.filter(organization=organization, public_id=public_id))
            .select_related("user", "organization")
            .first()
        )
    except ValidationError:
        return None


def admins(organization: Organization) -> list[Membership]:
    return list(
        Membership.objects.filter(organization=organization, role__in=list(ADMIN_ROLES))
        .select_related("user")
        .order_by("-role", "user__email")
    )


def home_members(organization: Organization) -> list[Membership]:
    """People who could be made admins: those whose work account the organisation owns."""
    return list(
        Membership.objects.filter(organization=organization, home=True, role=Role.MEMBER)
        .select_related("user")
        .order_by("user__email")
    )


@dataclass(frozen=True)
class MemberDetail:
    membership: Membership
    methods: list[Any]
    recovery_codes_left: int
    devices: list[Any]
    events: list[SecurityEvent]
    live_passes: list[Any]
    set_up_asked: bool


def member_detail(membership: Membership) -> MemberDetail:
    """What the member's page shows: methods as metadata only (kind, name, dates), never secrets."""
    user = membership.user
    if not membership.home:
        # SECURITY: a guest's account is not the organisation's: no methods, devices or passes.
        return MemberDetail(membership, [], 0, [], _org_events_of(membership), [], False)
    now = timezone.now()
    passes = [
        p
        for p in TemporaryAccessPass.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
        if p.is_live
    ]
    return MemberDetail(
        membership=membership,
        methods=sign_in_methods(user),
        recovery_codes_left=recovery_codes_left(user),
        devices=active_devices(user) if membership.home else [],
        events=_org_events_of(membership),
        live_passes=passes,
        set_up_asked=methods_reset_enrolment(user, membership.organization) is not None,
    )


def _org_events_of(membership: Membership) -> list[SecurityEvent]:
    """The member's latest events that the organisation may see (for a guest: its own actions)."""
    events = org_events(membership.organization).filter(user=membership.user)
    return list(events.order_by("-occurred_at", "-id")[:20])


# --- The sign-in log and the audit log -----------------------------------------------------------


class Log(StrEnum):
    SIGN_INS = "sign_ins"
    AUDIT = "audit"


def log_codes(log: Log) -> list[str]:
    """The event types a log lists: the catalogue's org-visible types of its category."""
    category = catalog.Category.SIGN_IN if log == Log.SIGN_INS else catalog.Category.CHANGE
    return [t.code for t in catalog.CATALOG.values() if t.category == category and t.org_visible]


def org_events(organization: Organization) -> QuerySet[SecurityEvent]:
    """Every org-visible event of the organisation's accounts and of its console's actions."""
    visible = [t.code for t in catalog.CATALOG.values() if t.org_visible]
    return SecurityEvent.objects.filter(
        Q(user__organization=organization) | Q(details__org_id=str(organization.public_id)),
        code__in=visible,
    )


@dataclass(frozen=True)
class LogFilter:
    person: str = ""
    result: str = ""
    code: str = ""
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class LogPage:
    events: list[SecurityEvent]
    next_cursor: str | None


def log_events(organization: Organization, log: Log, filters: LogFilter) -> QuerySet[SecurityEvent]:
    codes = log_codes(log)
    if filters.code in codes:
        codes = [filters.code]
    events = org_events(organization).filter(code__in=codes)
    if filters.person.strip():
        person = filters.person.strip()
        events = events.filter(Q(subject_label__icontains=person) | Q(actor_label__icontains=person))
    if filters.result in Result.values:
        events = events.filter(result=filters.result)
    zone = timezone.get_current_timezone()
    if filters.start is not None:
        events = events.filter(occurred_at__gte=datetime.combine(filters.start, time.min, tzinfo=zone))
    if filters.end is not None:
        events = events.filter(
            occurred_at__lt=datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=zone)
        )
    return events


def log_page(
    organization: Organization, log: Log, filters: LogFilter, *, cursor: str = "", size: int = EVENTS_PER_PAGE
) -> LogPage:
    """One page of a log, newest first, after ``cursor`` (keyset on time and id, as Recent activity)."""
    events = log_events(organization, log, filters)
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        events = events.filter(TupleLessThan(Tuple(F("occurred_at"), F("id")), position))
    rows = list(events.order_by("-occurred_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return LogPage(events=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


# What the audit log calls the console's own events (the catalogue's labels speak to the member).
AUDIT_WORDS: dict[str, Promise] = {
    "org:admin:password_reset": _("Password reset by an admin"),
    "org:admin:methods_reset": _("Sign-in methods reset by an admin"),
    "org:admin:sessions_revoke": _("Signed out everywhere by an admin"),
    "org:admin:access_pass_issue": _("Temporary Access Pass issued by an admin"),
    "org:admin:block": _("Sign-in blocked by an admin"),
    "org:admin:unblock": _("Sign-in unblocked by an admin"),
    "org:admin:member_remove": _("Removed from the organization by an admin"),
}


def audit_label(code: str) -> str:
    words = AUDIT_WORDS.get(code)
    return str(words) if words is not None else catalog.label_for(code)


def _cell(value: Any) -> str:
    """SECURITY: a cell a spreadsheet would run as a formula is written as text."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def log_csv(organization: Organization, log: Log, filters: LogFilter) -> str:
    """The filtered log as CSV, newest first (at most ``EXPORT_LIMIT`` rows)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["time_utc", "event", "code", "result", "person", "actor", "method", "ip", "country", "device"]
    )
    events = log_events(organization, log, filters).order_by("-occurred_at", "-id")[:EXPORT_LIMIT]
    for event in events.iterator(chunk_size=2000):
        writer.writerow(
            [
                _cell(event.occurred_at.astimezone(UTC).isoformat()),
                _cell(audit_label(event.code)),
                _cell(event.code),
                _cell(event.result),
                _cell(event.subject_label),
                _cell(event.actor_label if event.actor_public_id != event.subject_public_id else ""),
                _cell(catalog.method_label(event.method) if event.method else ""),
                _cell(event.ip or ""),
                _cell(event.country),
                _cell(event.device_label),
            ]
        )
    return out.getvalue()
