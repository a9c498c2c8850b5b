"""Reads for the Privacy page, the closing pages, "Can't sign in?", the password reset and
account recovery."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max, Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from threshold.accounts.models import Organization, PhoneNumber, User
from threshold.activity.models import Result, SecurityEvent
from threshold.devices.models import Device
from threshold.recovery.models import (
    OPEN_STATUSES,
    AccountRecovery,
    DataExport,
    ExportStatus,
    RecoveryKind,
    TemporaryAccessPass,
)
from threshold.security.models import MethodKind, RecoveryCode, SecuritySettings, SignInMethod
from threshold.security.selectors.challenge import SecondStepOption, second_step_options


@dataclass(frozen=True)
class ClosureSummary:
    """What closing the account will delete, counted, so the page can say it plainly."""

    name: str
    has_photo: bool
    has_password: bool
    sign_in_methods: int
    devices: int
    email_addresses: int
    phone_numbers: int
    # Neither exists yet in Threshold; listed so the page says so honestly.
    apps: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()


def closure_summary(user: Any) -> ClosureSummary:
    return ClosureSummary(
        name=user.name,
        has_photo=User.objects.filter(pk=user.pk, photo__isnull=False).exists(),
        has_password=user.has_usable_password(),
        sign_in_methods=SignInMethod.objects.filter(user=user).count(),
        devices=Device.objects.filter(user=user, removed_at__isnull=True).count(),
        email_addresses=EmailAddress.objects.filter(user=user).count(),
        phone_numbers=PhoneNumber.objects.filter(user=user).count(),
    )


# --- Download your data ------------------------------------------------------------------


def latest_export(user: Any) -> DataExport | None:
    """The person's newest export that is still being built or still downloadable."""
    now = timezone.now()
    return (
        DataExport.objects.filter(user=user)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(status=ExportStatus.FAILED)
        .defer("content")
        .first()
    )


def downloadable_export(user: Any, public_id: Any) -> DataExport | None:
    """The ready, unexpired export ``public_id`` of this account only; None otherwise (404)."""
    try:
        return DataExport.objects.filter(
            user=user, public_id=public_id, status=ExportStatus.READY, expires_at__gt=timezone.now()
        ).first()
    except ValidationError:
        return None


Row = dict[str, Any]


def export_sections(user: Any) -> list[tuple[str, list[Row]]]:
    """What "Download your data" contains, section by section, as rows of plain values.

    SECURITY: metadata only. No password hash, authenticator secret, passkey public key,
    recovery code (or its hash), device cookie hash or session key is ever read here.
    """
    account = User.objects.select_related("organization").get(pk=user.pk)
    profile = [
        {
            "account_id": account.public_id,
            "email": account.email,
            "display_name": account.display_name,
            "given_name": account.given_name,
            "family_name": account.family_name,
            "language": account.locale,
            "time_zone": account.time_zone,
            "account_kind": account.kind,
            "organization": account.organization.name if account.organization else "",
            "created_at": account.date_joined,
            "last_sign_in_at": account.last_login,
            "has_photo": User.objects.filter(pk=user.pk, photo__isnull=False).exists(),
        }
    ]
    contacts: list[Row] = [
        {"type": "email", "address": e.email, "verified": e.verified, "primary": e.primary, "added_at": None}
        for e in EmailAddress.objects.filter(user=user).order_by("-primary", "email")
    ]
    contacts += [
        {
            "type": "phone",
            "address": p.number,
            "verified": p.verified,
            "primary": p.primary,
            "added_at": p.created_at,
        }
        for p in PhoneNumber.objects.filter(user=user)
    ]
    settings_row = SecuritySettings.objects.filter(user=user).first()
    methods: list[Row] = [
        {
            "id": "",
            "kind": "password",
            "name": "",
            "in_use": account.has_usable_password(),
            "created_at": None,
            "last_changed_or_used_at": account.password_changed_at,
            "signs_in_without_password": False,
        },
        {
            "id": "",
            "kind": "two_step_verification",
            "name": "",
            "in_use": bool(settings_row and settings_row.two_step_enabled),
            "created_at": None,
            "last_changed_or_used_at": settings_row.two_step_changed_at if settings_row else None,
            "signs_in_without_password": False,
        },
        {
            "id": "",
            "kind": "recovery_codes",
            "name": "",
            "in_use": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "created_at": RecoveryCode.objects.filter(user=user).aggregate(at=Max("created_at"))["at"],
            "last_changed_or_used_at": RecoveryCode.objects.filter(user=user).aggregate(at=Max("used_at"))[
                "at"
            ],
            "signs_in_without_password": False,
        },
    ]
    methods += [
        {
            "id": m.public_id,
            "kind": m.kind,
            "name": m.name,
            "in_use": True,
            "created_at": m.created_at,
            "last_changed_or_used_at": m.last_used_at,
            "signs_in_without_password": m.passwordless,
        }
        for m in SignInMethod.objects.filter(user=user)
    ]
    devices = [
        {
            "id": d.public_id,
            "name": d.display_name,
            "browser": d.browser,
            "system": d.os,
            "kind": d.kind,
            "first_seen_at": d.first_seen_at,
            "last_seen_at": d.last_seen_at,
            "last_ip": d.last_ip,
            "last_country": d.last_country,
            "removed_at": d.removed_at,
        }
        for d in Device.objects.filter(user=user).order_by("first_seen_at", "id")
    ]
    activity = [
        {
            "occurred_at": e.occurred_at,
            "code": e.code,
            "what": e.label,
            "result": e.result,
            "ip": e.ip,
            "country": e.country,
            "device": e.device_label,
            "method": e.method,
            "details": e.details,
        }
        for e in SecurityEvent.objects.filter(user=user).order_by("occurred_at", "id").iterator()
    ]
    return [
        ("profile", profile),
        ("contact_addresses", contacts),
        ("sign_in_methods", methods),
        ("devices", devices),
        ("activity", activity),
    ]


# --- "Can't sign in?" -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryWay:
    url_name: str
    title: Promise
    description: Promise


# The ways back into an account, in the order the page lists them. A way is shown only
# once its page exists (its url name resolves), like the portal's navigation.
RECOVERY_WAYS = [
    RecoveryWay(
        "recover_password",
        _("I forgot my password"),
        _("Get a code by email or text message, then choose a new password."),
    ),
    RecoveryWay(
        "recover_second_method",
        _("I lost my sign-in methods and recovery codes"),
        _(
            "Prove an email address and a phone number of your account; after a few days' wait, "
            "choose a new password."
        ),
    ),
    RecoveryWay(
        "recover_request",
        _("I can't use any of my sign-in methods"),
        _("Ask for your account back: we check it's you, which takes a few days."),
    ),
    RecoveryWay(
        "access_pass_sign_in",
        _("I have a Temporary Access Pass"),
        _("Sign in with the pass your organization's admin gave you."),
    ),
]


def recovery_ways() -> list[tuple[RecoveryWay, str]]:
    """Each way that exists, with its address."""
    ways = []
    for way in RECOVERY_WAYS:
        try:
            ways.append((way, reverse(way.url_name)))
        except NoReverseMatch:
            continue  # that way is not built yet
    return ways


# --- Resetting a forgotten password ----------------------------------------------------------

RESET_SESSION_KEY = "threshold.recovery.password_reset"
RESET_LINK_SESSION_KEY = "threshold.recovery.password_reset_link"


@dataclass
class ResetFlow:
    """Where one browser is in a password reset, kept in its (server-side) session.

    SECURITY: ``user_id`` is None when the email typed has no account, and the flow then
    goes on exactly as if it had one; it lives only in the server-side session, never in
    a page or an address, so nothing the browser sees tells the two apart.
    """

    email: str
    user_id: int | None
    started_at: float
    target: str = ""  # where the person asked for the code: an email address or an E.164 number
    code_ok_at: float = 0.0  # when the code (or the email's link) was right
    issued_at: str = ""  # when that code was sent (ISO 8601)
    second_step: str = ""  # the kind of second method proven, when two-step verification is on

    @property
    def by_email(self) -> bool:
        return "@" in self.target

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def reset_flow(request: Any) -> ResetFlow | None:
    """This browser's reset, or None when there is none (or it was left too long)."""
    kept = request.session.get(RESET_SESSION_KEY) if hasattr(request, "session") else None
    if not isinstance(kept, dict):
        return None
    try:
        flow = ResetFlow(**kept)
    except TypeError:
        return None
    now = time.time()
    # The code itself expires on its own; a flow is a browser's state and is kept as long
    # as the longest try window, and a proven code for the few minutes the last steps take.
    if now - flow.started_at > settings.PHONE_CODE_TRY_WINDOW:
        return None
    if flow.code_ok_at and now - flow.code_ok_at > settings.PASSWORD_RESET_STEP_SECONDS:
        return None
    return flow


def account_for_reset(email: str) -> User | None:
    """The account that signs in with, or has verified, ``email``; None for any other address.

    A closed or turned-off account cannot be reset.
    """
    email = email.strip()
    if not email:
        return None
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .order_by("-primary", "pk")
        .first()
    )
    user = address.user if address is not None else None
    if user is None or not user.is_active or getattr(user, "closed_at", None) is not None:
        return None
    return user  # type: ignore[return-value]


def is_reset_target(user: Any, target: str) -> bool:
    """Whether ``target`` is a verified email address or verified phone number of the account."""
    if user is None or not target:
        return False
    if "@" in target:
        return EmailAddress.objects.filter(user=user, email__iexact=target, verified=True).exists()
    return PhoneNumber.objects.filter(user=user, number=target, verified_at__isnull=False).exists()


def reset_second_step_options(user: Any, flow: ResetFlow) -> list[SecondStepOption]:
    """The account's ways to prove it's them besides the reset code.

    SECURITY: the phone that received the reset code is not offered: a second code to the
    same phone would be the same factor twice.
    """
    return [
        option
        for option in second_step_options(user)
        if not (
            option.kind == MethodKind.TEXT_MESSAGE
            and option.method is not None
            and option.method.phone is not None
            and option.method.phone.number == flow.target
        )
    ]


# --- After a recovery sign-in: set up a new method and new codes ---------------------------

# How a session proved who it is when it skipped the usual sign-in: another helper's
# cooling-off rule reads exactly this key. Set only after the sign-in has completed.
RESET_BY_SESSION_KEY = "threshold.security_reset_by"
ACCESS_PASS = "access_pass"
ACCOUNT_RECOVERY = "account_recovery"  # a completed account recovery (waiting period or reviewed)
# The pass that signed this session in, and when it expires (a POSIX timestamp).
ACCESS_PASS_SESSION_KEY = "threshold.recovery.access_pass"
ACCESS_PASS_UNTIL_SESSION_KEY = "threshold.recovery.access_pass_until"
# "Not now" on the Overview's banner, for the rest of the session.
SET_UP_DISMISSED_SESSION_KEY = "threshold.recovery.set_up_dismissed"

# A recovery sign-in older than this no longer asks for the set-up on the Overview.
SET_UP_DAYS = 30

RECOVERY_CODE = "recovery_code"


def access_pass_session_until(request: HttpRequest | None) -> datetime | None:
    """When this session's Temporary Access Pass expires; None for any other session."""
    session = getattr(request, "session", None)
    if session is None or session.get(RESET_BY_SESSION_KEY) != ACCESS_PASS:
        return None
    try:
        until = float(session.get(ACCESS_PASS_UNTIL_SESSION_KEY, 0))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(until, tz=UTC) if until > 0 else None


def access_pass_session_live(request: HttpRequest | None) -> bool:
    until = access_pass_session_until(request)
    return until is not None and until > timezone.now()


def access_pass_still_valid(public_id: Any) -> bool:
    """The pass that signed a session in is neither revoked nor expired (a used one-time pass still is)."""
    try:
        return TemporaryAccessPass.objects.filter(
            public_id=public_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).exists()
    except ValidationError:
        return False


@dataclass(frozen=True)
class SetUpProgress:
    """After a sign-in with a recovery code or a Temporary Access Pass: what is done, what is left."""

    via: str  # RECOVERY_CODE or ACCESS_PASS
    since: datetime
    codes_left: int
    method_added: bool
    codes_made: bool

    @property
    def done(self) -> bool:
        return self.method_added and self.codes_made


def set_up_progress(user: Any) -> SetUpProgress | None:
    """Progress since the account's latest recovery sign-in of the last ``SET_UP_DAYS``, from real state.

    A method counts when it was added after that sign-in, the codes when a new set was
    made after it; None when there was no such sign-in.
    """
    latest = (
        SecurityEvent.objects.filter(
            user=user, occurred_at__gte=timezone.now() - timedelta(days=SET_UP_DAYS), result=Result.SUCCESS
        )
        .filter(Q(code="account:recovery_codes:use") | Q(code="account:signin:success", method=ACCESS_PASS))
        .order_by("-occurred_at", "-id")
        .values_list("code", "occurred_at")
        .first()
    )
    if latest is None:
        return None
    code, since = latest
    return SetUpProgress(
        via=RECOVERY_CODE if code == "account:recovery_codes:use" else ACCESS_PASS,
        since=since,
        codes_left=RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
        method_added=SignInMethod.objects.filter(user=user, created_at__gte=since).exists(),
        codes_made=RecoveryCode.objects.filter(user=user, created_at__gte=since).exists(),
    )


def set_up_banner(request: HttpRequest) -> SetUpProgress | None:
    """The Overview's reminder: an unfinished set-up the person has not put off for this session."""
    if request.session.get(SET_UP_DISMISSED_SESSION_KEY):
        return None
    progress = set_up_progress(request.user)
    return progress if progress is not None and not progress.done else None


# --- Account recovery ----------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """How a recovery link's token is stored: SHA-256 (the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def recovery_account(email: str) -> User | None:
    """The open account that ``email`` names (its sign-in address or another of its addresses).

    Closed, closing-complete and deactivated accounts are no account here.
    """
    email = email.strip()
    if not email:
        return None
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    user = address.user if address is not None else User.objects.filter(email__iexact=email).first()
    if user is None or not user.is_active or user.closed_at is not None:  # type: ignore[union-attr]
        return None
    return user  # type: ignore[return-value]


def has_verified_email(user: Any, address: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=address.strip(), verified=True).exists()


def has_verified_phone(user: Any, number: str) -> bool:
    return PhoneNumber.objects.filter(user=user, number=number, verified_at__isnull=False).exists()


def verified_phones(user: Any) -> list[str]:
    return list(
        PhoneNumber.objects.filter(user=user, verified_at__isnull=False).values_list("number", flat=True)
    )


def managing_organization(email: str) -> Organization | None:
    """The organisation whose verified domain ``email`` is in: its admin helps, not us.

    Decided by the domain alone, never by looking the account up, so the answer says
    nothing about whether the account exists.
    """
    domain = email.strip().rpartition("@")[2].lower()
    if not domain:
        return None
    for organization in Organization.objects.only("name", "verified_domains"):
        domains = organization.verified_domains if isinstance(organization.verified_domains, list) else []
        if domain in {str(d).strip().lower() for d in domains}:
            return organization
    return None


def open_waiting_recovery(user: Any) -> AccountRecovery | None:
    return AccountRecovery.objects.filter(
        user=user, kind=RecoveryKind.WAITING_PERIOD, status__in=OPEN_STATUSES
    ).first()


def open_recovery_by_cancel_token(token: str) -> AccountRecovery | None:
    """The open recovery whose cancel link carries ``token``; None for any other token."""
    if not token:
        return None
    digest = token_hash(token)
    return (
        AccountRecovery.objects.select_related("user")
        .filter(Q(cancel_token_hash=digest) | Q(filed_cancel_token_hash=digest), status__in=OPEN_STATUSES)
        .first()
    )


def recovery_by_completion_token(token: str) -> AccountRecovery | None:
    """The recovery whose "ready" or approval link carries ``token`` (whatever its state)."""
    if not token:
        return None
    return (
        AccountRecovery.objects.select_related("user").filter(completion_token_hash=token_hash(token)).first()
    )


def recovery_by_public_id(public_id: Any) -> AccountRecovery | None:
    try:
        return AccountRecovery.objects.select_related("user").filter(public_id=public_id).first()
    except ValidationError:
        return None


@dataclass(frozen=True)
class AccountFacts:
    """What the account itself says, set beside a reviewed request's claims for the operator."""

    exists: bool
    email: str = ""
    display_name: str = ""
    given_name: str = ""
    family_name: str = ""
    created_at: Any = None
    kind: str = ""
    organization: str = ""
    sign_in_countries: tuple[str, ...] = ()
    has_subscriptions: bool = False  # there are no subscriptions in Threshold yet
    email_addresses: tuple[str, ...] = ()
    open_recoveries: int = 0


def account_facts(recovery: AccountRecovery) -> AccountFacts:
    user = recovery.user
    if user is None:
        return AccountFacts(exists=False)
    from threshold.activity.selectors import countries_seen

    countries = tuple(
        f"{c.name or c.code or '?'} ({c.succeeded})" for c in countries_seen(user, days=90) if c.succeeded
    )
    return AccountFacts(
        exists=True,
        email=user.email,
        display_name=user.display_name,
        given_name=user.given_name,
        family_name=user.family_name,
        created_at=user.date_joined,
        kind=user.get_kind_display(),
        organization=user.organization.name if user.organization_id else "",  # type: ignore[union-attr]
        sign_in_countries=countries,
        email_addresses=tuple(EmailAddress.objects.filter(user=user).values_list("email", flat=True)),
        open_recoveries=AccountRecovery.objects.filter(user=user, status__in=OPEN_STATUSES)
        .exclude(pk=recovery.pk)
        .count(),
    )
