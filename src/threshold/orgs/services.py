"""The only writers of organisations, memberships and policies.

Each function checks who is acting (a global admin of that organisation, a helpdesk admin
where the role allows, or the operator), changes inside ``transaction.atomic()``, records
the event and mails on commit. Every function takes the organisation explicitly and refuses
a member of another one, so the admin console stays scoped by construction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.accounts import photos
from threshold.accounts.models import AccountKind, User
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.activity.tasks import deliver_security_alert
from threshold.core.decisions import Decision
from threshold.core.mail import send_templated_mail
from threshold.orgs import licences
from threshold.orgs.models import Invitation, Membership, Organization, OrganizationPolicy, Role
from threshold.orgs.tasks import deliver_held_sign_in_notice

# The settings an admin may change through update_policy, with their words for the event log.
POLICY_FIELDS = (
    "require_two_step",
    "two_step_grace_days",
    "text_messages",
    "require_passkey_for_admins",
    "self_service_password_reset",
    "reset_methods_required",
    "password_min_length",
    "password_banned_words",
    "lock_names",
    "lock_photo",
    "lock_phones",
    "lock_emails",
    "profile_lock_reason",
    "session_lifetime_hours",
    "sign_in_frequency_hours",
    "members_may_close_account",
    "members_may_remove_devices",
    "unfamiliar_sign_in",
    "activity_retention_days",
)
BRANDING_FIELDS = ("accent_colour", "sign_in_text")
MAX_BANNED_WORDS = 200


# --- Who may act ---------------------------------------------------------------------------------


def ensure_admin(
    *, actor: Any, organization: Organization, roles: Iterable[str] = (Role.GLOBAL_ADMIN,)
) -> None:
    """Raise PermissionDenied unless ``actor`` holds one of ``roles`` in ``organization``.

    The operator (a staff account) may act on every organisation, as in the staff admin.
    """
    if actor is None:
        raise PermissionDenied
    if getattr(actor, "is_staff", False):
        return
    allowed = Membership.objects.filter(user=actor, organization=organization, role__in=list(roles)).exists()
    if not allowed:
        raise PermissionDenied


def _in_organization(member: Any, organization: Organization) -> Membership:
    row = Membership.objects.select_for_update().filter(user=member, organization=organization).first()
    if row is None:
        # SECURITY: another organisation's member is "not found", never "not allowed".
        raise Membership.DoesNotExist
    return row


# --- Policies ----------------------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _clean_banned_words(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    words = sorted({str(w).strip().lower() for w in value or [] if str(w).strip()})
    if len(words) > MAX_BANNED_WORDS:
        raise ValidationError(
            _("Ban at most %(count)d words.") % {"count": MAX_BANNED_WORDS}, code="too_many_words"
        )
    if any(len(w) < 3 or len(w) > 64 for w in words):
        raise ValidationError(_("Each banned word needs 3 to 64 characters."), code="word_length")
    return words


def update_policy(
    *, organization: Organization, actor: Any, request: HttpRequest | None, changes: dict[str, Any]
) -> list[str]:
    """Change the organisation's policy; returns the settings that changed.

    Bounds are checked with the model's validators before anything is saved; a setting
    beyond the licence is refused with "Available with Premium". Each change is recorded on
    the admin's own activity as ``org:policy:change`` with what it was and what it became.
    """
    ensure_admin(actor=actor, organization=organization)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown setting: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if "password_banned_words" in changes:
        changes = {**changes, "password_banned_words": _clean_banned_words(changes["password_banned_words"])}
    with transaction.atomic():
        policy, _created = OrganizationPolicy.objects.select_for_update().get_or_create(
            organization=organization
        )
        defaults = OrganizationPolicy(organization_id=organization.pk)
        changed = [f for f in POLICY_FIELDS if f in changes and getattr(policy, f) != changes[f]]
        for field in changed:
            feature = licences.POLICY_FIELD_FEATURES.get(field)
            if (
                feature is not None
                and changes[field] != getattr(defaults, field)
                and not licences.has_feature(organization, feature)
            ):
                decision = licences.feature_decision(organization, feature)
                raise ValidationError({field: decision.message}, code="licence_required")
        if not changed:
            return []
        before = {f: getattr(policy, f) for f in changed}
        for field in changed:
            setattr(policy, field, changes[field])
        policy.full_clean()
        if "require_two_step" in changed and policy.require_two_step:
            # The grace period of members who joined earlier starts now.
            policy.two_step_required_since = timezone.now()
        policy.updated_at = timezone.now()
        policy.save()
        for field in changed:
            record_event(
                "org:policy:change",
                user=actor,
                request=request,
                details={
                    "organization": organization.name,
                    "setting": str(getattr(OrganizationPolicy._meta.get_field(field), "verbose_name", field)),
                    "field": field,
                    "from": _shown(before[field]),
                    "to": _shown(getattr(policy, field)),
                },
            )
    return changed


# --- Branding --------------------------------------------------------------------------------------


def update_branding(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    changes: dict[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> list[str]:
    """Change the sign-in branding (Premium): accent colour, sign-in text and logo.

    The logo goes through the profile photo's pipeline (accounts.photos): sniffed, checked
    for hidden content and re-encoded without metadata; the upload itself is never stored.
    """
    ensure_admin(actor=actor, organization=organization)
    decision = licences.feature_decision(organization, licences.Feature.CUSTOM_BRANDING)
    if not decision.allowed:
        raise ValidationError(decision.message, code="licence_required")
    image = None
    if logo is not None:
        try:
            image = photos.prepare_photo(
                logo,
                max_bytes=settings.PHOTO_MAX_BYTES,
                max_pixels=settings.PHOTO_MAX_PIXELS,
                size=settings.PHOTO_SIZE,
            )
        except photos.PhotoError as exc:
            raise ValidationError({"logo": exc.message}, code=exc.code) from exc
    with transaction.atomic():
        row = Organization.objects.select_for_update().get(pk=organization.pk)
        changed = [f for f in BRANDING_FIELDS if f in changes and getattr(row, f) != changes[f]]
        before = {f: getattr(row, f) for f in changed}
        for field in changed:
            setattr(row, field, changes[field])
        row.full_clean(exclude=["logo"])
        fields = list(changed)
        if image is not None or (remove_logo and row.logo_updated_at is not None):
            row.logo = image
            row.logo_updated_at = timezone.now() if image is not None else None
            fields += ["logo", "logo_updated_at"]
            changed.append("logo")
        if not changed:
            return []
        row.save(update_fields=fields)
        record_event(
            "org:branding:update",
            user=actor,
            request=request,
            details={
                "organization": row.name,
                "fields": changed,
                "from": ", ".join(str(before[f]) for f in before),
                "to": ", ".join(str(getattr(row, f)) for f in before),
            },
        )
    for field in ("accent_colour", "sign_in_text", "logo", "logo_updated_at"):
        setattr(organization, field, getattr(row, field))
    return changed


# --- Members ----------------------------------------------------------------------------------------


def _member_added(*, member: User, organization: Organization, actor: Any, request: Any, role: str) -> None:
    record_event(
        "org:member:add",
        user=member,
        actor=actor,
        request=request,
        details={"organization": organization.name, "role": str(Role(role).label)},
    )


def add_member(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    user: User,
    role: str = Role.MEMBER,
) -> Membership:
    """Add an existing account: its home organisation if it is this work account's, else as a guest."""
    ensure_admin(actor=actor, organization=organization)
    role = Role(role)
    home = user.kind == AccountKind.WORK and user.organization_id == organization.pk
    with transaction.atomic():
        row, created = Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": role, "home": home}
        )
        if not created:
            raise ValidationError(
                _("This person is already in %(org)s.") % {"org": organization.name}, code="duplicate"
            )
        _member_added(member=user, organization=organization, actor=actor, request=request, role=role)
    return row


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_member(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    email: str,
    given_name: str = "",
    family_name: str = "",
    role: str = Role.MEMBER,
) -> User:
    """Create a work account owned by the organisation and mail its set-up link.

    The address must be in one of the organisation's verified domains. The account has no
    usable password until the person follows the link (one use, ``ORG_INVITATION_DAYS``)
    and chooses one; our own link rather than allauth's reset, so that an organisation
    which turns self-service password reset off can still invite people.
    """
    ensure_admin(actor=actor, organization=organization)
    email = User.objects.normalize_email(email.strip()).lower()
    domain = email.rpartition("@")[2]
    if domain not in [str(d).lower() for d in organization.verified_domains or []]:
        raise ValidationError(
            _("Use an address in one of %(org)s's verified domains.") % {"org": organization.name},
            code="domain",
        )
    if (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    ):
        raise ValidationError(_("An account with this email address already exists."), code="exists")
    role = Role(role)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        member = User.objects.create_user(
            email=email,
            password=None,
            kind=AccountKind.WORK,
            organization=organization,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
        )
        # SECURITY: the organisation verified the domain, so the address counts as verified.
        EmailAddress.objects.create(user=member, email=email, primary=True, verified=True)
        Membership.objects.create(user=member, organization=organization, role=role, home=True)
        # SECURITY: only the token's hash is stored; a leaked database row opens nothing.
        Invitation.objects.create(
            user=member,
            organization=organization,
            token_hash=_token_hash(token),
            expires_at=timezone.now() + timedelta(days=settings.ORG_INVITATION_DAYS),
        )
        record_event(
            "org:member:add",
            user=member,
            actor=actor,
            request=request,
            details={"organization": organization.name, "role": str(role.label), "via": "invite"},
            quiet=True,  # the invitation below is the mail
        )
        transaction.on_commit(
            partial(
                send_templated_mail,
                template="orgs/email/invitation",
                to=[email],
                context={
                    "organization": organization.name,
                    "person": member,
                    "days": settings.ORG_INVITATION_DAYS,
                    "set_up_url": settings.BASE_URL.rstrip("/") + reverse("orgs_welcome", args=[token]),
                },
                language=member.locale,
            )
        )
    return member


def open_invitation(token: str) -> Invitation | None:
    """The unused, unexpired invitation behind a link's token, if any."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.filter(
            token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("user", "organization")
        .first()
    )


def accept_invitation(*, token: str, password: str, request: HttpRequest | None) -> User:
    """Set the first password through an invitation link; the link is spent exactly once.

    Raises ValidationError when the link is unknown, spent or expired, or the password
    breaks a rule (the organisation's included); then nothing changes.
    """
    from django.contrib.auth.password_validation import validate_password

    invitation = open_invitation(token)
    if invitation is None:
        raise ValidationError(
            _("This link has expired or was already used. Ask your admins for a new invitation.")
        )
    member = invitation.user
    validate_password(password, user=member)
    with transaction.atomic():
        # SECURITY: spent with a conditional UPDATE, so two requests with the same link at
        # once set at most one password.
        spent = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not spent:
            raise ValidationError(_("This link was already used. Sign in with the password you chose."))
        member.set_password(password)
        member.save(update_fields=["password", "password_changed_at", "must_change_password"])
        record_event(
            "org:invitation:accept",
            user=member,
            request=request,
            details={"organization": invitation.organization.name},
        )
    return member


def set_member_role(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User, role: str
) -> bool:
    """Change a member's role; False if it already was. The last global admin stays one."""
    ensure_admin(actor=actor, organization=organization)
    role = Role(role)
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(organization=organization, role=Role.GLOBAL_ADMIN))
        row = _in_organization(member, organization)
        if row.role == role:
            return False
        if row.role == Role.GLOBAL_ADMIN and _last_global_admin(organization):
            raise ValidationError(
                _("%(org)s needs at least one global admin. Make someone else a global admin first.")
                % {"org": organization.name},
                code="last_admin",
            )
        before = row.role
        row.role = role
        row.save(update_fields=["role"])
        record_event(
            "org:member:role",
            user=member,
            actor=actor,
            request=request,
            details={
                "organization": organization.name,
                "from": str(Role(before).label),
                "to": str(role.label),
            },
        )
    return True


def _last_global_admin(organization: Organization) -> bool:
    return Membership.objects.filter(organization=organization, role=Role.GLOBAL_ADMIN).count() <= 1


def remove_member(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> None:
    """Take a person out of the organisation.

    A guest simply loses the membership. A home member's work account belongs to the
    organisation, so it cannot move elsewhere: it is turned off (sign-in refused, every
    session ended) and keeps its history for the organisation's audit log.
    """
    ensure_admin(actor=actor, organization=organization)
    from allauth.usersessions.models import UserSession

    with transaction.atomic():
        row = _in_organization(member, organization)
        if row.role == Role.GLOBAL_ADMIN and _last_global_admin(organization):
            raise ValidationError(
                _("%(org)s needs at least one global admin. Make someone else a global admin first.")
                % {"org": organization.name},
                code="last_admin",
            )
        home = row.home
        row.delete()
        if home:
            User.objects.filter(pk=member.pk).update(is_active=False)
            member.is_active = False
            for session in UserSession.objects.filter(user=member):
                session.end()
        record_event(
            "org:member:remove",
            user=member,
            actor=actor,
            request=request,
            details={"organization": organization.name, "home": home},
        )


def leave_decision(*, user: Any, membership: Membership) -> Decision:
    """Whether the person may leave this organisation themselves, and if not why."""
    organization = membership.organization
    if membership.home:
        return Decision.deny(
            "home_organization",
            _("Your work account belongs to %(org)s, so you can't leave it. Ask its admins.")
            % {"org": organization.name},
            locked_by=organization.name,
        )
    if not organization.guests_may_leave:
        from threshold.orgs.policies import contact_sentence

        return Decision.deny(
            "org_keeps_guests",
            _("%(org)s doesn't let guests leave on their own.") % {"org": organization.name}
            + " "
            + contact_sentence(organization),
            locked_by=organization.name,
        )
    return Decision.allow()


def leave_organization(*, user: Any, request: HttpRequest | None, membership: Membership) -> None:
    """Leave a guest organisation; refused for the home one and where guests may not leave."""
    from threshold.core.errors import PolicyDenied

    if membership.user_id != user.pk:
        raise Membership.DoesNotExist
    decision = leave_decision(user=user, membership=membership)
    if not decision.allowed:
        raise PolicyDenied(decision)
    with transaction.atomic():
        deleted, _rows = Membership.objects.filter(pk=membership.pk, user=user, home=False).delete()
        if not deleted:
            return
        record_event(
            "org:member:leave",
            user=user,
            request=request,
            details={"organization": membership.organization.name},
        )


def note_blocked_sign_in(*, user: Any, request: HttpRequest | None) -> None:
    """An unfamiliar sign-in the organisation blocks, after a right password: recorded and alerted."""
    from threshold.activity.models import Result
    from threshold.activity.tasks import deliver_security_alert

    organization = user.organization
    event = record_event(
        "org:signin:blocked",
        user=user,
        request=request,
        result=Result.BLOCKED,
        method="password",
        details={"organization": organization.name if organization else ""},
    )
    # A blocked attempt is no change, so record_event queues no alert; the person still
    # hears of it, as of any unfamiliar sign-in: someone has their password.
    transaction.on_commit(partial(deliver_security_alert.enqueue, event.pk))


def note_held_sign_in(*, user: Any, request: HttpRequest | None) -> None:
    """An unfamiliar sign-in held for want of a second method: recorded where the
    organisation's admins see it, the person alerted, and the admins mailed the way out."""
    organization = user.organization
    event = record_event(
        "org:signin:held",
        user=user,
        request=request,
        result=Result.BLOCKED,
        method="password",
        details={"organization": organization.name if organization else ""},
    )
    # Held is no change, so record_event queues no alert of its own (as for a blocked one).
    transaction.on_commit(partial(deliver_security_alert.enqueue, event.pk))
    transaction.on_commit(partial(deliver_held_sign_in_notice.enqueue, event.pk))


def skip_enrolment(*, user: Any, request: HttpRequest | None, need: str) -> None:
    """The person chose "Not now" during the grace period; recorded so admins can see it."""
    record_event("org:enrolment:skip", user=user, request=request, details={"kind": need})


# --- Admin console actions ---------------------------------------------------------------------------
#
# What an organisation's admin does to a member's account from /admin-console/. Each function:
# the console's role check (policies.require_console, the one table of who may do what), a
# sign-in from the last few minutes, a throttle where the action could be abused, the change
# inside transaction.atomic(), and an event recorded on the MEMBER's account with the admin as
# its actor, so the member reads it on their own Recent activity ("Your admin reset your
# password") and the organisation's audit log (orgs.console.selectors) reads the same row.
#
# SECURITY: the actions that change how someone signs in apply only to accounts the
# organisation owns (its home members). A guest's account belongs to another organisation or
# to the person; its admins can only end the guest's membership here.

CONSOLE_THROTTLE_LIMIT = 20  # sensitive console actions per admin per window
CONSOLE_THROTTLE_SECONDS = 15 * 60
REMOVED_ACCOUNT_CLOSES_IN_DAYS = 30  # the shorter of recovery.models.CLOSURE_DAYS
MAX_IMPORT_ROWS = 500
MAX_IMPORT_BYTES = 512 * 1024


class ConsoleThrottled(Exception):
    """Too many sensitive console actions by this admin: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _console_organization(
    *, organization: Organization, actor: Any, action: str, request: HttpRequest | None, member: Any = None
) -> None:
    """The role check; the organisation passed in must be the actor's own console's."""
    from threshold.orgs.policies import require_console

    own = require_console(actor, action, member=member, request=request)
    if own.pk != organization.pk:
        raise PermissionDenied


def _throttle_console(*, actor: Any, action: str) -> None:
    """A fixed window per admin and action, shared by every app process through the cache.

    SECURITY: a stolen admin session must not mint passwords or passes for a whole
    organisation in a loop; an admin doing a morning's helpdesk work never meets the limit.
    """
    from django.core.cache import cache

    key = f"console:{action}:{actor.pk}"
    cache.add(key, 0, CONSOLE_THROTTLE_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, CONSOLE_THROTTLE_SECONDS)
        count = 1
    if count > CONSOLE_THROTTLE_LIMIT:
        raise ConsoleThrottled(CONSOLE_THROTTLE_SECONDS)


def _admit(
    *, organization: Organization, actor: Any, action: str, request: HttpRequest | None, member: Any = None
) -> None:
    """Before every console action: the role check for this organisation, then a recent sign-in."""
    _console_organization(
        organization=organization, actor=actor, action=action, request=request, member=member
    )
    _fresh(request=request, actor=actor)


def _fresh(*, request: HttpRequest | None, actor: Any) -> None:
    from threshold.security.services import ensure_fresh_sign_in

    ensure_fresh_sign_in(request=request, user=actor)


def _home_member(organization: Organization, member: Any) -> Membership:
    """The member's row, locked; a guest is refused with the reason, another org's is "not found"."""
    row = _in_organization(member, organization)
    if not row.home:
        raise ValidationError(
            _(
                "%(name)s is a guest: their account belongs to someone else, so %(org)s can't change how "
                "they sign in. You can remove them from %(org)s."
            )
            % {"name": member.name, "org": organization.name},
            code="guest",
        )
    return row


def _admin_details(actor: Any, organization: Organization, **more: Any) -> dict[str, Any]:
    return {
        "organization": organization.name,
        "org_id": str(organization.public_id),
        "admin": getattr(actor, "name", "") or str(actor),
        **more,
    }


def _end_sessions_of(member: Any) -> int:
    from allauth.usersessions.models import UserSession

    ended = 0
    for session in UserSession.objects.filter(user=member):
        session.end()
        ended += 1
    return ended


def _end_trust_of(member: Any, reason: str) -> int:
    from threshold.security.models import TrustedDevice

    return TrustedDevice.objects.filter(user=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def new_temporary_password() -> str:
    """Four groups of six letters and digits from the system's CSPRNG (about 119 bits)."""
    import secrets

    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def reset_member_password(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> str:
    """Give the member a temporary password, returned once for the admin to pass on.

    The member must choose their own at their next sign-in (``User.must_change_password``,
    enforced on every page by accounts.middleware). Every session ends and every device
    that skipped two-step verification is asked again: whoever held the old password, or a
    session, must not keep a way in. Two-step verification itself stays as it was.
    """
    from threshold.orgs.policies import ConsoleAction
    from threshold.security.models import TrustReason

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_RESET_PASSWORD,
        request=request,
        member=member,
    )
    _throttle_console(actor=actor, action="password")
    password = new_temporary_password()
    with transaction.atomic():
        _home_member(organization, member)
        member.set_password(password)
        member.must_change_password = True
        member.save(update_fields=["password", "password_changed_at", "must_change_password"])
        ended = _end_sessions_of(member)
        forgotten = _end_trust_of(member, TrustReason.PASSWORD_CHANGED)
        record_event(
            "org:admin:password_reset",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(actor, organization, sessions_ended=ended, trust_ended=forgotten),
        )
    return password


def require_new_methods(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> int:
    """Remove the member's sign-in methods and recovery codes; returns how many methods went.

    Every session ends; at the next sign-in the member is led to set up two-step
    verification again before going on (``policies.methods_reset_enrolment``), whatever the
    organisation's policy. The password stays: a member who signed in with a passkey alone
    needs a password reset or a Temporary Access Pass as well, and the console says so.
    """
    from allauth.mfa.models import Authenticator

    from threshold.orgs.policies import ConsoleAction
    from threshold.security.models import RecoveryCode, SignInMethod, TrustReason

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_RESET_METHODS,
        request=request,
        member=member,
    )
    _throttle_console(actor=actor, action="methods")
    with transaction.atomic():
        row = _home_member(organization, member)
        methods = list(SignInMethod.objects.filter(user=member))
        # allauth's authenticators (apps, passkeys, its own recovery codes); our method rows
        # for them go with them (CASCADE), a text-message method on its own (the phone
        # number stays as a contact detail).
        Authenticator.objects.filter(user=member).delete()
        SignInMethod.objects.filter(user=member).delete()
        RecoveryCode.objects.filter(user=member).delete()
        row.methods_reset_at = timezone.now()
        row.save(update_fields=["methods_reset_at"])
        ended = _end_sessions_of(member)
        forgotten = _end_trust_of(member, TrustReason.TWO_STEP_CHANGED)
        record_event(
            "org:admin:methods_reset",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(
                actor, organization, methods_removed=len(methods), sessions_ended=ended, trust_ended=forgotten
            ),
        )
    return len(methods)


def revoke_member_sessions(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> int:
    """Sign the member out everywhere and end every device's skip of two-step verification."""
    from threshold.orgs.policies import ConsoleAction
    from threshold.security.models import TrustReason

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_REVOKE_SESSIONS,
        request=request,
        member=member,
    )
    with transaction.atomic():
        _home_member(organization, member)
        ended = _end_sessions_of(member)
        forgotten = _end_trust_of(member, TrustReason.BY_PERSON)
        record_event(
            "org:admin:sessions_revoke",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(actor, organization, sessions_ended=ended, trust_ended=forgotten),
        )
    return ended


def issue_member_access_pass(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    member: User,
    minutes: int | None = None,
    one_time: bool = True,
) -> tuple[Any, str]:
    """A Temporary Access Pass for the member (recovery.services.issue_access_pass), shown once."""
    from threshold.orgs.policies import ConsoleAction
    from threshold.recovery.services import issue_access_pass

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_ISSUE_ACCESS_PASS,
        request=request,
        member=member,
    )
    _throttle_console(actor=actor, action="access_pass")
    with transaction.atomic():
        _home_member(organization, member)
        access_pass, plain = issue_access_pass(
            user=member, issued_by=actor, request=request, minutes=minutes, one_time=one_time
        )
        record_event(
            "org:admin:access_pass_issue",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(
                actor,
                organization,
                minutes=int((access_pass.expires_at - access_pass.created_at).total_seconds() // 60),
                one_time=one_time,
            ),
        )
    return access_pass, plain


def block_member_sign_in(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> bool:
    """Refuse every sign-in to the member's account and end its sessions; False if it already was.

    The block is ``User.is_active``, the switch Django's authentication reads on every
    request and allauth at every sign-in (password, passkey, code, Temporary Access Pass),
    so a blocked person's open sessions stop working in every app process at once. It is
    separate from the member's own "Lock my account" (``locked_at``): a password reset by
    email lifts that lock but never this block (allauth does not reset inactive accounts),
    and unblocking leaves the member's own lock in place.
    """
    from threshold.orgs.policies import ConsoleAction

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_BLOCK,
        request=request,
        member=member,
    )
    with transaction.atomic():
        _home_member(organization, member)
        blocked = User.objects.filter(pk=member.pk, is_active=True).update(is_active=False)
        if not blocked:
            return False
        member.is_active = False
        ended = _end_sessions_of(member)
        record_event(
            "org:admin:block",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(actor, organization, sessions_ended=ended),
        )
    return True


def unblock_member_sign_in(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> bool:
    """Let the member sign in again; False if they were not blocked. Their own lock stays."""
    from threshold.orgs.policies import ConsoleAction

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_BLOCK,
        request=request,
        member=member,
    )
    with transaction.atomic():
        _home_member(organization, member)
        if member.closes_at is not None or member.closed_at is not None:
            raise ValidationError(_("This account is closing, so it can't be unblocked."), code="closing")
        unblocked = User.objects.filter(pk=member.pk, is_active=False).update(is_active=True)
        if not unblocked:
            return False
        member.is_active = True
        record_event(
            "org:admin:unblock",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(actor, organization),
        )
    return True


def remove_member_from_organization(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> bool:
    """End the member's place in the organisation; returns whether their work account closes.

    A guest simply loses the membership. A home member's work account belongs to the
    organisation and cannot move elsewhere: sign-in is blocked at once, every session ends,
    and the account is set to close after the normal window (30 days), after which the
    daily ``close_due_accounts`` deletes its personal data and keeps the anonymous
    tombstone; the organisation's audit log keeps its events. Until then the operator can
    restore it from /staff/. The last global admin cannot be removed.
    """
    from datetime import timedelta

    from threshold.orgs.policies import ConsoleAction

    _admit(
        organization=organization,
        actor=actor,
        action=ConsoleAction.MEMBER_REMOVE,
        request=request,
        member=member,
    )
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(organization=organization, role=Role.GLOBAL_ADMIN))
        row = _in_organization(member, organization)
        if row.role == Role.GLOBAL_ADMIN and _last_global_admin(organization):
            raise ValidationError(
                _("%(org)s needs at least one global admin. Make someone else a global admin first.")
                % {"org": organization.name},
                code="last_admin",
            )
        home = row.home
        row.delete()
        more: dict[str, Any] = {"home": home}
        if home:
            now = timezone.now()
            closes_at = now + timedelta(days=REMOVED_ACCOUNT_CLOSES_IN_DAYS)
            User.objects.filter(pk=member.pk).update(is_active=False)
            User.objects.filter(pk=member.pk, closes_at__isnull=True, closed_at__isnull=True).update(
                closure_requested_at=now, closes_at=closes_at
            )
            member.refresh_from_db(fields=["is_active", "closure_requested_at", "closes_at"])
            more["sessions_ended"] = _end_sessions_of(member)
            if member.closes_at is not None:
                more["closes_on"] = member.closes_at.date().isoformat()
        record_event(
            "org:admin:member_remove",
            user=member,
            actor=actor,
            request=request,
            details=_admin_details(actor, organization, **more),
        )
    return home


def set_admin_role(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User, role: str
) -> bool:
    """Promote or demote one of the organisation's own people (set_member_role does the change)."""
    from threshold.orgs.policies import ConsoleAction

    _admit(organization=organization, actor=actor, action=ConsoleAction.ADMINS_MANAGE, request=request)
    if (
        Role(role) != Role.MEMBER
        and not Membership.objects.filter(user=member, organization=organization, home=True).exists()
    ):
        if Membership.objects.filter(user=member, organization=organization).exists():
            raise ValidationError(
                _("Only people whose work account belongs to the organization can be admins.")
            )
        raise Membership.DoesNotExist
    return set_member_role(organization=organization, actor=actor, request=request, member=member, role=role)


def change_policy_from_console(
    *, organization: Organization, actor: Any, request: HttpRequest | None, changes: dict[str, Any]
) -> list[str]:
    """The Policies page: a global admin's check and fresh sign-in, then update_policy."""
    from threshold.orgs.policies import ConsoleAction

    _admit(organization=organization, actor=actor, action=ConsoleAction.POLICY_CHANGE, request=request)
    return update_policy(organization=organization, actor=actor, request=request, changes=changes)


def change_branding_from_console(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    changes: dict[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> list[str]:
    """The Branding page: a global admin's check and fresh sign-in, then update_branding."""
    from threshold.orgs.policies import ConsoleAction

    _admit(organization=organization, actor=actor, action=ConsoleAction.BRANDING_CHANGE, request=request)
    return update_branding(
        organization=organization,
        actor=actor,
        request=request,
        changes=changes,
        logo=logo,
        remove_logo=remove_logo,
    )


def invite_from_console(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    email: str,
    given_name: str = "",
    family_name: str = "",
    role: str = Role.MEMBER,
) -> User:
    """Invite one person by email (invite_member creates the work account and mails the link)."""
    from threshold.orgs.policies import ConsoleAction

    _admit(organization=organization, actor=actor, action=ConsoleAction.MEMBER_INVITE, request=request)
    return invite_member(
        organization=organization,
        actor=actor,
        request=request,
        email=email,
        given_name=given_name,
        family_name=family_name,
        role=role,
    )


class ImportRefused(Exception):
    """The file itself could not be read; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class ImportRow:
    """One line of an uploaded file and what became of it."""

    line: int
    email: str
    accepted: bool
    reason: str = ""


def _role_from_cell(value: str) -> str | None:
    cleaned = value.strip().lower().replace("-", " ").replace("_", " ")
    if not cleaned:
        return Role.MEMBER
    for role in Role:
        if cleaned in {role.value.replace("_", " "), str(role.label).lower()}:
            return role.value
    return None


def import_members(
    *, organization: Organization, actor: Any, request: HttpRequest | None, data: bytes
) -> list[ImportRow]:
    """Invite everyone in a CSV file (email, given_name, family_name, role); a row per line.

    Each row is checked (address, duplicate in the file, already here, domain verified,
    known role, at most ``MAX_IMPORT_ROWS``) and, if it passes, invited in a transaction of
    its own with invite_member: a refused row leaves nothing behind, and one bad row never
    stops the others. The file itself is refused whole when it is too large, not text, or
    has no ``email`` column.
    """
    import csv
    import io

    from django.core.validators import validate_email

    from threshold.orgs.policies import ConsoleAction

    _admit(organization=organization, actor=actor, action=ConsoleAction.MEMBER_INVITE, request=request)
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            _("The file is larger than %(size)d KB. Split it into smaller files.")
            % {"size": MAX_IMPORT_BYTES // 1024}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            _("The file isn't UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = [(f or "").strip().lower() for f in reader.fieldnames or []]
        if "email" not in fields:
            raise ImportRefused(
                _(
                    "The first line must name the columns, with at least “email” (and optionally given_name, family_name, role)."
                )
            )
        reader.fieldnames = fields
        # Read whole before anyone is invited, so that a line that cannot be read leaves nothing behind.
        lines = [(reader.line_num, raw) for raw in reader]
    except csv.Error:
        # SECURITY: a field past the csv module's limit (128 KB) raised out of the view as a 500.
        raise ImportRefused(
            _(
                "Line %(line)d can't be read: a field is far too long or its quotes don't match. "
                "Correct it and upload the file again."
            )
            % {"line": reader.line_num + 1}  # the line it was reading: after the last one read whole
        ) from None
    domains = {str(d).lower() for d in organization.verified_domains or []}
    seen: set[str] = set()
    report: list[ImportRow] = []
    count = 0
    for line, raw in lines:
        row = {k: (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items() if k}
        email = row.get("email", "")
        if not any(row.values()):
            continue  # an empty line
        count += 1
        if count > MAX_IMPORT_ROWS:
            report.append(
                ImportRow(
                    line,
                    email,
                    False,
                    _("Too many rows: a file can hold %(max)d people.") % {"max": MAX_IMPORT_ROWS},
                )
            )
            continue
        normalized = email.lower()
        try:
            validate_email(normalized)
        except ValidationError:
            report.append(ImportRow(line, email, False, _("Not an email address.")))
            continue
        if normalized in seen:
            report.append(
                ImportRow(line, email, False, _("This address is already on an earlier line of the file."))
            )
            continue
        seen.add(normalized)
        role = _role_from_cell(row.get("role", ""))
        if role is None:
            report.append(
                ImportRow(line, email, False, _("Unknown role. Use member, helpdesk admin or global admin."))
            )
            continue
        if normalized.rpartition("@")[2] not in domains:
            report.append(
                ImportRow(
                    line,
                    email,
                    False,
                    _("The domain isn't one of %(org)s's verified domains.") % {"org": organization.name},
                )
            )
            continue
        if Membership.objects.filter(organization=organization, user__email__iexact=normalized).exists():
            report.append(
                ImportRow(line, email, False, _("Already a member of %(org)s.") % {"org": organization.name})
            )
            continue
        given, family = row.get("given_name", ""), row.get("family_name", "")
        if len(given) > 80 or len(family) > 80:
            report.append(ImportRow(line, email, False, _("A name is longer than 80 characters.")))
            continue
        try:
            invite_member(
                organization=organization,
                actor=actor,
                request=request,
                email=normalized,
                given_name=given,
                family_name=family,
                role=role,
            )
        except ValidationError as exc:
            report.append(ImportRow(line, email, False, " ".join(str(m) for m in exc.messages)))
            continue
        report.append(ImportRow(line, email, True))
    return report
