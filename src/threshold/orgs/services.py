"""The only writers of organisations, memberships and policies, outside the admin console.

The organisation services shared by the staff admin and the console (policy, branding,
members, invitations; each checks that the actor is a global admin of that organisation, or
the operator), and what members do themselves (accept an invitation, leave, skip enrolment).
Each changes inside ``transaction.atomic()``, records the event and mails on commit. The
console's own actions, behind its role table and fresh sign-in, are in ``orgs.console``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
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
from threshold.core.errors import PolicyDenied
from threshold.core.mail import send_templated_mail
from threshold.devices.services import end_sessions
from threshold.orgs import licences
from threshold.orgs.models import Invitation, Membership, Organization, OrganizationPolicy, Role
from threshold.orgs.policies import contact_sentence
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


def locked_membership(member: Any, organization: Organization) -> Membership:
    """The member's row in ``organization``, locked for the transaction."""
    row = Membership.objects.select_for_update().filter(user=member, organization=organization).first()
    if row is None:
        # SECURITY: another organisation's member is "not found", never "not allowed".
        raise Membership.DoesNotExist
    return row


def ensure_not_last_global_admin(organization: Organization, row: Membership) -> None:
    """Refuse to change ``row`` away from global admin when it is the organisation's last one."""
    if row.role == Role.GLOBAL_ADMIN and _last_global_admin(organization):
        raise ValidationError(
            _("%(org)s needs at least one global admin. Make someone else a global admin first.")
            % {"org": organization.name},
            code="last_admin",
        )


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
        row = locked_membership(member, organization)
        if row.role == role:
            return False
        ensure_not_last_global_admin(organization, row)
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
    with transaction.atomic():
        row = locked_membership(member, organization)
        ensure_not_last_global_admin(organization, row)
        home = row.home
        row.delete()
        if home:
            User.objects.filter(pk=member.pk).update(is_active=False)
            member.is_active = False
            end_sessions(user=member)
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
