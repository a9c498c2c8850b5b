"""Reads about sign-in methods, two-step verification, recovery codes and trusted devices."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from threshold.accounts.models import PhoneNumber
from threshold.core.context import context_of
from threshold.core.decisions import Decision
from threshold.security import trust
from threshold.security.models import (
    MethodKind,
    RecoveryCode,
    RemovalStatus,
    ScheduledRemoval,
    SecuritySettings,
    SignInMethod,
    TrustedDevice,
)

RECOVERY_CODES_LOW = 3

# Kinds the sign-in challenge can ask for after the password.
SECOND_STEP_KINDS = (MethodKind.PASSKEY, MethodKind.AUTHENTICATOR_APP, MethodKind.TEXT_MESSAGE)

# Kinds a person can add from Security info.
ADDABLE_KINDS = (MethodKind.PASSKEY, MethodKind.AUTHENTICATOR_APP, MethodKind.TEXT_MESSAGE)


def fresh_sign_in_seconds() -> int:
    return int(settings.ACCOUNT_REAUTHENTICATION_TIMEOUT)


def last_authenticated_at(request: HttpRequest, user: Any) -> float | None:
    """When this session last proved who it is (a sign-in or a re-sign-in, any method)."""
    records = get_authentication_records(request, user)
    times = [float(r["at"]) for r in records if isinstance(r, dict) and isinstance(r.get("at"), int | float)]
    return max(times) if times else None


def signed_in_recently(request: HttpRequest, user: Any) -> bool:
    from threshold.recovery.selectors.set_up import access_pass_session_live

    if access_pass_session_live(request):
        # SECURITY: a Temporary Access Pass is itself the fresh proof, for as long as the
        # pass works; its session reaches only the pages that set up sign-in methods
        # (threshold.recovery.middleware), so this opens nothing else.
        return True
    at = last_authenticated_at(request, user)
    return at is not None and 0 <= time.time() - at < fresh_sign_in_seconds()


# The request attribute (never a session key) naming what proved this sign-in when it was
# not a password: set by threshold.recovery for the one request that signs in with a pass.
SIGN_IN_PROVEN_BY = "threshold_sign_in_proven_by"


def sign_in_proven_by(request: HttpRequest | None) -> str:
    return str(getattr(request, SIGN_IN_PROVEN_BY, "") or "")


def used_passwordless_passkey(request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in began with a passkey alone, which already is two factors."""
    return any(
        r.get("method") == "mfa" and r.get("passwordless") for r in get_authentication_records(request, user)
    )


def security_settings(user: Any) -> SecuritySettings | None:
    return SecuritySettings.objects.filter(user=user).select_related("default_method").first()


def sign_in_methods(user: Any) -> list[SignInMethod]:
    """Every method, strongest kind first, then oldest first."""
    methods = list(SignInMethod.objects.filter(user=user).select_related("phone", "authenticator"))
    methods.sort(key=lambda m: (m.strength, m.created_at, m.pk))
    return methods


def method_by_public_id(user: Any, public_id: Any) -> SignInMethod | None:
    return SignInMethod.objects.filter(user=user, public_id=public_id).select_related("phone").first()


def two_step_enabled(user: Any) -> bool:
    """Whether the switch is on (the person's choice, whatever methods remain)."""
    return SecuritySettings.objects.filter(user=user, two_step_enabled=True).exists()


def sign_in_methods_of_kind(user: Any, kind: str) -> QuerySet[SignInMethod]:
    return SignInMethod.objects.filter(user=user, kind=kind)


def second_step_methods(user: Any) -> QuerySet[SignInMethod]:
    """Methods the sign-in challenge can ask for."""
    return SignInMethod.objects.filter(user=user, kind__in=SECOND_STEP_KINDS)


def two_step_required(user: Any) -> bool:
    """Whether sign-in asks for a second method: the switch is on and a method is left.

    Like Google's 2-Step Verification, the switch has no effect without a method; that
    happens only when a phone number is deleted from Your info (which removes its method),
    and the Security info page then says so.
    """
    return two_step_enabled(user) and second_step_methods(user).exists()


def default_method(user: Any, methods: list[SignInMethod] | None = None) -> SignInMethod | None:
    """The method offered first at sign-in: the person's choice, else the strongest."""
    methods = sign_in_methods(user) if methods is None else methods
    if not methods:
        return None
    chosen = SecuritySettings.objects.filter(user=user).values_list("default_method_id", flat=True).first()
    for method in methods:
        if method.pk == chosen:
            return method
    return methods[0]


def passwordless_passkeys(user: Any) -> QuerySet[SignInMethod]:
    """Passkeys that sign the person in on their own (discoverable, with PIN or biometrics)."""
    return SignInMethod.objects.filter(user=user, kind=MethodKind.PASSKEY, passwordless=True)


def recovery_codes_left(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def has_recovery_codes(user: Any) -> bool:
    return RecoveryCode.objects.filter(user=user).exists()


def phones_for_text_messages(user: Any) -> QuerySet[PhoneNumber]:
    """Verified numbers of the account that are not a sign-in method yet."""
    used = SignInMethod.objects.filter(user=user, phone__isnull=False).values("phone_id")
    return PhoneNumber.objects.filter(user=user, verified_at__isnull=False).exclude(pk__in=used)


def has_authenticator_app(user: Any) -> bool:
    return SignInMethod.objects.filter(user=user, kind=MethodKind.AUTHENTICATOR_APP).exists()


def addable_kinds(user: Any) -> list[MethodKind]:
    kinds = []
    for kind in ADDABLE_KINDS:
        if kind == MethodKind.AUTHENTICATOR_APP and has_authenticator_app(user):
            continue  # allauth keeps one authenticator app per account
        kinds.append(kind)
    return kinds


def active_trusted_devices(user: Any) -> QuerySet[TrustedDevice]:
    return TrustedDevice.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def trusted_device_for(request: HttpRequest, user: Any) -> TrustedDevice | None:
    """The trust this browser holds for ``user``, if it is still good.

    SECURITY: the cookie is signed, its token is checked against the stored hash, and the
    row must be neither revoked nor expired; the browser and system must also still match
    the ones trust was given on, so a copied cookie is worth less elsewhere.
    """
    entries = trust.read_entries(request)
    if not entries:
        return None
    ids = [device_id for device_id, _token in entries]
    devices = {str(d.public_id): d for d in active_trusted_devices(user).filter(public_id__in=_uuids(ids))}
    summary = context_of(request).device
    for device_id, token in entries:
        device = devices.get(device_id)
        if device is None:
            continue
        if not constant_time_compare(trust.token_hash(token), device.token_hash):
            continue
        if (device.browser, device.os) != (summary.browser, summary.os):
            continue
        return device
    return None


def _uuids(values: list[str]) -> list[str]:
    found = []
    for value in values:
        try:
            found.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return found


# --- The sign-in challenge --------------------------------------------------------------


@dataclass(frozen=True)
class SecondStepOption:
    """One way to finish signing in: a method, or a recovery code."""

    key: str
    kind: str  # a MethodKind value, or "recovery_code"
    label: str
    hint: str = ""
    method: SignInMethod | None = None


RECOVERY_OPTION_KEY = "recovery-code"
PASSKEY_OPTION_KEY = "passkey"


def method_key(method: SignInMethod) -> str:
    if method.kind == MethodKind.AUTHENTICATOR_APP:
        return "app"
    if method.kind == MethodKind.PASSKEY:
        return PASSKEY_OPTION_KEY  # one option: the browser offers whichever of them is at hand
    return f"{method.kind.replace('_', '-')}-{method.public_id}"


def masked_number(number: str) -> str:
    return f"•••• {number[-4:]}" if len(number) > 4 else number


def second_step_options(user: Any) -> list[SecondStepOption]:
    """The ways this account can finish signing in, the default one first."""
    methods = sign_in_methods(user)
    first = default_method(user, methods)
    ordered = ([first] if first else []) + [m for m in methods if m != first]
    options = []
    passkeys = [m for m in ordered if m.kind == MethodKind.PASSKEY]
    for method in ordered:
        if method.kind == MethodKind.PASSKEY:
            if method is passkeys[0]:
                label = method.name if len(passkeys) == 1 else str(_("Passkey or security key"))
                hint = str(_("Use your passkey or security key"))
                options.append(SecondStepOption(PASSKEY_OPTION_KEY, method.kind, label, hint, method))
            continue
        if method.kind == MethodKind.TEXT_MESSAGE and method.phone is not None:
            hint = str(_("Text a code to %(number)s")) % {"number": masked_number(method.phone.number)}
        else:
            hint = str(_("Enter the code from your authenticator app"))
        options.append(SecondStepOption(method_key(method), method.kind, method.name, hint, method))
    if recovery_codes_left(user):
        options.append(
            SecondStepOption(
                RECOVERY_OPTION_KEY,
                "recovery_code",
                str(_("Recovery code")),
                str(_("Enter one of the recovery codes you saved")),
            )
        )
    return options


# --- The Security info page ---------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    level: str  # "good", "warn" or "weak"
    title: Promise | str
    message: Promise | str
    action_label: Promise | str = ""
    action_url: str = ""
    action_post: bool = False


@dataclass
class SecurityInfo:
    methods: list[SignInMethod]
    default: SignInMethod | None
    two_step_enabled: bool
    two_step_changed_at: Any
    recovery_codes_left: int
    has_recovery_codes: bool
    trusted_devices: int
    addable_kinds: list[MethodKind]
    status: NextStep
    weakest_only: bool = False
    has_password: bool = True
    signs_in_with_passkey: bool = False  # at least one passkey signs in on its own
    # Removals waiting out the wait; each of those methods also carries ``scheduled_removal``.
    pending_removals: list[ScheduledRemoval] = field(default_factory=list)


def security_info(user: Any) -> SecurityInfo:
    methods = sign_in_methods(user)
    waiting = list(pending_removals(user))
    by_method = {removal.method_id: removal for removal in waiting}
    for method in methods:
        method.scheduled_removal = by_method.get(method.pk)  # type: ignore[attr-defined]
        method.confirm_key = method_key(method)  # type: ignore[attr-defined]
    settings_row = security_settings(user)
    enabled = bool(settings_row and settings_row.two_step_enabled)
    left = recovery_codes_left(user)
    weakest_only = bool(methods) and all(m.kind == MethodKind.TEXT_MESSAGE for m in methods)
    has_password = user.has_usable_password()
    return SecurityInfo(
        methods=methods,
        default=default_method(user, methods),
        two_step_enabled=enabled,
        two_step_changed_at=settings_row.two_step_changed_at if settings_row else None,
        recovery_codes_left=left,
        has_recovery_codes=has_recovery_codes(user),
        trusted_devices=active_trusted_devices(user).count(),
        addable_kinds=addable_kinds(user),
        status=next_step(
            methods=methods,
            enabled=enabled,
            codes_left=left,
            weakest_only=weakest_only,
            has_password=has_password,
        ),
        weakest_only=weakest_only,
        has_password=has_password,
        signs_in_with_passkey=any(m.kind == MethodKind.PASSKEY and m.passwordless for m in methods),
        pending_removals=waiting,
    )


def next_step(
    *,
    methods: list[SignInMethod],
    enabled: bool,
    codes_left: int,
    weakest_only: bool,
    has_password: bool = True,
) -> NextStep:
    """How well the account is protected, and the one change that would help most."""
    if not has_password:
        return _passwordless_step(methods)
    if not methods and not enabled:
        return NextStep(
            "weak",
            _("Only your password protects your account"),
            _(
                "Add a passkey or an authenticator app, then turn on two-step verification, so a stolen password is not enough."
            ),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    usable = any(m.kind in SECOND_STEP_KINDS for m in methods)
    if not enabled:
        return NextStep(
            "weak",
            _("Two-step verification is off"),
            _("Turn it on so that signing in needs your password and one of your sign-in methods."),
            _("Turn on two-step verification"),
            reverse("security_two_step_on"),
            action_post=True,
        )
    if not usable:
        return NextStep(
            "weak",
            _("Two-step verification has no method left"),
            _("Add a sign-in method: until you do, your password alone lets you in."),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    if codes_left == 0:
        return NextStep(
            "warn",
            _("You have no recovery codes"),
            _("Recovery codes get you in when you can't use your other methods."),
            _("Get recovery codes"),
            reverse("security_recovery_codes_new"),
        )
    if codes_left <= RECOVERY_CODES_LOW:
        return NextStep(
            "warn",
            ngettext(
                "You have %(count)d recovery code left",
                "You have %(count)d recovery codes left",
                codes_left,
            )
            % {"count": codes_left},
            _("Get a new set before you run out; the old codes stop working."),
            _("Get new recovery codes"),
            reverse("security_recovery_codes_new"),
        )
    if weakest_only:
        return NextStep(
            "warn",
            _("Text messages are your only method"),
            _("Text messages are the weakest method. Add an authenticator app as well."),
            _("Add a sign-in method"),
            reverse("security_add_method"),
        )
    if not any(m.kind == MethodKind.PASSKEY for m in methods):
        return NextStep(
            "good",
            _("Your account is well protected"),
            _(
                "Signing in needs your password and one of your sign-in methods. "
                "For the strongest protection, add a passkey: it can't be phished."
            ),
            _("Add a passkey"),
            reverse("mfa_add_webauthn"),
        )
    return NextStep(
        "good",
        _("Your account is well protected"),
        _("Signing in needs your password and one of your sign-in methods."),
    )


def _passwordless_step(methods: list[SignInMethod]) -> NextStep:
    """A passwordless account: its passkeys are the way in, and email the way back."""
    passkeys = [m for m in methods if m.kind == MethodKind.PASSKEY and m.passwordless]
    if not passkeys:
        return NextStep(
            "weak",
            _("You have no password and no passkey"),
            _("Set a password so you can sign in again; until then only an email reset gets you in."),
            _("Set a password"),
            reverse("account_set_password"),
        )
    if len(passkeys) == 1:
        return NextStep(
            "warn",
            _("You sign in with one passkey"),
            _("Add a second passkey, on another device, so losing one doesn't lock you out."),
            _("Add a passkey"),
            reverse("mfa_add_webauthn"),
        )
    return NextStep(
        "good",
        _("Your account is well protected"),
        _("You sign in with a passkey: there is no password to steal or phish."),
    )


# --- Replacing every sign-in method: the wait ------------------------------------------------

# Set by other flows on a session that already waited or was vouched for by an admin (a
# completed account recovery, a Temporary Access Pass sign-in): its removals need no wait.
RESET_BY_SESSION_KEY = "threshold.security_reset_by"
VOUCHED_RESETS = frozenset({"access_pass", "account_recovery"})
# What this session's second step at sign-in was done with (see ``services.verify_second_step``).
SECOND_STEP_SESSION_KEY = "threshold.security.second_step"


def window_start(now: datetime | None = None) -> datetime:
    """Methods, codes and addresses from before this moment are the account's older ones."""
    return (now or timezone.now()) - timedelta(days=settings.SECURITY_INFO_WINDOW_DAYS)


def wait_days() -> int:
    return int(settings.SECURITY_INFO_WAIT_DAYS)


def pending_removals(user: Any) -> QuerySet[ScheduledRemoval]:
    return ScheduledRemoval.objects.filter(user=user, status=RemovalStatus.PENDING).select_related("method")


def pending_removal(user: Any, public_id: Any) -> ScheduledRemoval | None:
    return pending_removals(user).filter(public_id=public_id).first()


def removal_by_token(token: str) -> ScheduledRemoval | None:
    """The removal a cancel link names, whatever its state; None for an unknown token.

    SECURITY: the token carries 256 random bits and only its SHA-256 is stored, so the
    lookup by hash reveals nothing a timing attack could use.
    """
    if not token or len(token) > 128:
        return None
    return (
        ScheduledRemoval.objects.filter(cancel_token_hash=token_digest(token)).select_related("user").first()
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def older_methods(user: Any, *, before: datetime) -> QuerySet[SignInMethod]:
    """Second-step methods the account had before ``before`` (pending removal or not)."""
    return second_step_methods(user).filter(created_at__lt=before)


def removal_must_wait(user: Any, methods: list[SignInMethod], *, now: datetime | None = None) -> bool:
    """Whether removing ``methods`` would take away the last of the account's older methods.

    Older means added before the window (``SECURITY_INFO_WINDOW_DAYS``). A method already
    waiting for its removal no longer counts as one that stays. An account whose methods
    were all added within the window has no older method, so its removals never wait: see
    ``services.remove_sign_in_method`` for why that is accepted.
    """
    start = window_start(now)
    if not any(m.kind in SECOND_STEP_KINDS and m.created_at < start for m in methods):
        return False
    staying = (
        older_methods(user, before=start)
        .exclude(pk__in=[m.pk for m in methods])
        .exclude(scheduled_removals__status=RemovalStatus.PENDING)
    )
    return not staying.exists()


def vouched_reset(request: HttpRequest | None) -> str:
    """ "access_pass" or "account_recovery" when this session came from one; else ""."""
    if request is None or not hasattr(request, "session"):
        return ""
    value = request.session.get(RESET_BY_SESSION_KEY)
    return str(value) if value in VOUCHED_RESETS else ""


def proved_older_method(request: HttpRequest | None, user: Any, *, before: datetime) -> str:
    """The kind of older method this session proved within the fresh-sign-in window, or "".

    Two records count: our note of the second step at sign-in (any method, or a recovery
    code) and allauth's record of an authenticator used (a passkey sign-in, a re-sign-in
    with an authenticator app or a passkey). The method must have been added before
    ``before``; a recovery code must have been made before it.
    """
    if request is None or not hasattr(request, "session"):
        return ""
    now = time.time()

    def recent(at: Any) -> bool:
        return isinstance(at, int | float) and 0 <= now - float(at) < fresh_sign_in_seconds()

    note = request.session.get(SECOND_STEP_SESSION_KEY)
    if isinstance(note, dict) and note.get("user") == str(user.pk) and recent(note.get("at")):
        ids = _uuids([str(note.get("method") or "")])
        if ids:
            method = SignInMethod.objects.filter(user=user, public_id=ids[0], created_at__lt=before).first()
            if method is not None:
                return str(method.kind)
        if (
            note.get("recovery_code")
            and RecoveryCode.objects.filter(
                user=user, pk=note["recovery_code"], created_at__lt=before
            ).exists()
        ):
            return "recovery_code"
    for record in get_authentication_records(request, user):
        if not isinstance(record, dict) or record.get("method") != "mfa" or not recent(record.get("at")):
            continue
        if not isinstance(record.get("id"), int):
            continue
        method = SignInMethod.objects.filter(
            user=user, authenticator_id=record["id"], created_at__lt=before
        ).first()
        if method is not None:
            return str(method.kind)
    return ""


def passkey_proven_at(request: HttpRequest | None, user: Any) -> float | None:
    """When this session last proved one of ``user``'s passkeys or security keys, or None.

    Three proofs count: signing in with a passkey alone, a passkey as the second step after
    the password (our note, ``services.verify_second_step``), and confirming it's you with a
    passkey at a re-sign-in (allauth's record). An authenticator app, a text message, a
    recovery code, a Temporary Access Pass or an account recovery never do: none of them is
    bound to this site's address, so a look-alike site could relay them.
    """
    if request is None or not hasattr(request, "session") or user is None or user.pk is None:
        return None
    times: list[float] = []
    note = request.session.get(SECOND_STEP_SESSION_KEY)
    if (
        isinstance(note, dict)
        and note.get("user") == str(user.pk)
        and isinstance(note.get("at"), int | float)
    ):
        ids = _uuids([str(note.get("method") or "")])
        if ids and SignInMethod.objects.filter(user=user, public_id=ids[0], kind=MethodKind.PASSKEY).exists():
            times.append(float(note["at"]))
    used = {
        record["id"]: float(record["at"])
        for record in get_authentication_records(request, user)
        if isinstance(record, dict)
        and record.get("method") == "mfa"
        and record.get("type") == "webauthn"
        and isinstance(record.get("id"), int)
        and isinstance(record.get("at"), int | float)
    }
    if used:
        kept = SignInMethod.objects.filter(
            user=user, kind=MethodKind.PASSKEY, authenticator_id__in=list(used)
        ).values_list("authenticator_id", flat=True)
        times.extend(used[pk] for pk in kept if pk is not None)
    return max(times) if times else None


def staff_access(request: HttpRequest, user: Any) -> Decision:
    """Whether this session may open the staff admin (``/staff/``), and if not, what to do.

    SECURITY: the staff admin can hand any account to someone else (an approved recovery),
    so a password is never enough: the account needs a passkey or security key, and this
    session must have proved it, whatever the person's two-step switch says. A session from
    a Temporary Access Pass or an account recovery is refused however it continued, as the
    pass or the recovery stood in for the methods that were lost.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Decision.deny("not_staff", str(_("This page is for Threshold's staff.")))
    if vouched_reset(request):
        return Decision.deny(
            "vouched_session",
            str(
                _(
                    "You signed in with a Temporary Access Pass or an account recovery. Sign out, then sign in "
                    "again with your passkey or security key to open the staff admin."
                )
            ),
        )
    if not sign_in_methods_of_kind(user, MethodKind.PASSKEY).exists():
        return Decision.deny(
            "no_passkey",
            str(
                _(
                    "The staff admin needs a passkey or security key on your account. Add one on Security info, "
                    "then sign in with it."
                )
            ),
        )
    if passkey_proven_at(request, user) is None:
        return Decision.deny(
            "not_proven_by_passkey",
            str(
                _(
                    "The staff admin needs a sign-in with your passkey or security key, and this one was made "
                    "without it. Confirm it's you with your passkey to continue."
                )
            ),
        )
    return Decision.allow()


def staff_change_is_fresh(request: HttpRequest, user: Any) -> bool:
    """Whether this session proved a passkey within the fresh-sign-in window (10 minutes).

    Every staff change needs it: a signed-in browser left open, or a copied session cookie,
    must not be enough to approve a recovery or change an account. The passkey alone is
    enough to confirm: it is the method a look-alike site cannot relay, and the session
    already proved two steps when it signed in (``staff_access``).
    """
    at = passkey_proven_at(request, user)
    return (
        at is not None
        and 0 <= time.time() - at < fresh_sign_in_seconds()
        and signed_in_recently(request, user)
    )


def confirm_options(user: Any, removal: ScheduledRemoval) -> list[SecondStepOption]:
    """The ways to confirm a waiting removal: the older methods, and older recovery codes."""
    before = window_start(removal.requested_at)
    older_passkey = older_methods(user, before=before).filter(kind=MethodKind.PASSKEY).exists()
    return [
        option
        for option in second_step_options(user)
        # One option stands for every passkey: offered if any of them is older (the answer
        # must then come from an older one, see ``services.confirm_removal``).
        if (option.kind == MethodKind.PASSKEY and older_passkey)
        or (
            option.kind != MethodKind.PASSKEY
            and option.method is not None
            and option.method.created_at < before
        )
        or (option.kind == "recovery_code" and older_recovery_codes_left(user, before=before))
    ]


def older_recovery_codes_left(user: Any, *, before: datetime) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True, created_at__lt=before).count()


@dataclass(frozen=True)
class OlderAddresses:
    emails: list[str]
    phones: list[str]


def older_addresses(user: Any, *, before: datetime) -> OlderAddresses:
    """Where to tell the person about a waiting removal: addresses from before the window.

    Verified email addresses not added since ``before`` (allauth keeps no date on them, so
    the activity log's "email address added" events tell), verified addresses removed since
    then (whoever replaces every method may remove the owner's address first), and phone
    numbers verified before ``before``.
    """
    from allauth.account.models import EmailAddress

    from threshold.activity.models import SecurityEvent

    since = SecurityEvent.objects.filter(user=user, occurred_at__gte=before)
    added = {
        str(d.get("email", "")).lower()
        for d in since.filter(code="account:email:add").values_list("details", flat=True)
        if isinstance(d, dict)
    }
    emails: dict[str, str] = {}
    for address in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        if address.lower() not in added:
            emails.setdefault(address.lower(), address)
    for details in since.filter(code="account:email:remove").values_list("details", flat=True):
        if isinstance(details, dict) and details.get("was_verified") and details.get("email"):
            address = str(details["email"])
            if address.lower() not in added:
                emails.setdefault(address.lower(), address)
    phones = list(
        PhoneNumber.objects.filter(user=user, verified_at__lt=before)
        .order_by("-primary", "created_at")
        .values_list("number", flat=True)
    )
    return OlderAddresses(emails=list(emails.values()), phones=phones)
