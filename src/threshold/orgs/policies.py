"""THE one place that decides "may this account do X?".

Services call ``require`` before changing anything an organisation could lock; pages call
``evaluate`` only to draw the lock; allauth adapter hooks delegate here too. The rules come
from the home organisation of a work account (``User.organization``) and its
``OrganizationPolicy``; a personal account, and a guest membership, never lock anything.
Licence extras are checked through ``orgs.licences``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.activity import risk
from threshold.activity.models import Result
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.core.decisions import Decision
from threshold.core.errors import PolicyDenied
from threshold.orgs import licences
from threshold.orgs.models import (
    ADMIN_ROLES,
    LicenceTier,
    Membership,
    Organization,
    OrganizationPolicy,
    Role,
    TextMessages,
    UnfamiliarSignIn,
)
from threshold.orgs.selectors import organization_for_domain
from threshold.verification.sign_in import VOUCHED_RESETS, sign_in_proven_by


class MethodFacts(Protocol):
    """What the policies need to know about a person's sign-in methods, handed in by threshold.security.

    The policies sit below the capabilities and import none of them; security registers its
    answers here from ``SecurityConfig.ready`` (``register_method_facts``).
    """

    def two_step_required(self, user: Any) -> bool:
        """Sign-in asks for a second method: two-step verification is on and a method is left."""
        ...

    def has_second_step_method(self, user: Any) -> bool:
        """The person has a method the sign-in challenge can ask for."""
        ...

    def has_passkey(self, user: Any) -> bool:
        """The person has a passkey or security key."""
        ...

    def has_method_added_since(self, user: Any, since: datetime) -> bool:
        """The person added a sign-in method at or after ``since``."""
        ...


_method_facts: MethodFacts | None = None


def register_method_facts(facts: MethodFacts) -> None:
    """Name what answers the policies' questions about sign-in methods (security, at start-up)."""
    global _method_facts
    _method_facts = facts


def _methods() -> MethodFacts:
    if _method_facts is None:
        raise ImproperlyConfigured("No sign-in method facts registered: is threshold.security installed?")
    return _method_facts


class Action(StrEnum):
    """Lockable actions, named ``scope:resource:action``."""

    TWO_STEP_ENABLE = "security:two_step:enable"
    TWO_STEP_DISABLE = "security:two_step:disable"
    METHOD_ADD = "security:method:add"
    METHOD_ADD_TEXT_MESSAGE = "security:text_message:add"
    METHOD_ADD_AUTHENTICATOR_APP = "security:authenticator_app:add"
    METHOD_ADD_PASSKEY = "security:passkey:add"
    METHOD_REMOVE = "security:method:remove"
    LAST_PASSKEY_REMOVE = "security:passkey:remove_last"
    METHOD_RENAME = "security:method:rename"
    PASSWORD_REMOVE = "security:password:remove"
    PASSWORD_RESET_SELF_SERVICE = "account:password:reset_self_service"
    RECOVERY_CODES_GENERATE = "security:recovery_codes:generate"
    DEVICE_TRUST = "security:device:trust"
    DEVICE_RENAME = "devices:device:rename"
    DEVICE_REMOVE = "devices:device:remove"
    ACCOUNT_LOCK = "account:account:lock"
    ACCOUNT_CLOSE = "account:account:close"
    DATA_EXPORT = "account:data:export"
    PROFILE_NAMES_CHANGE = "account:names:change"
    PHOTO_CHANGE = "account:photo:change"
    PHONE_CHANGE = "account:phone:change"
    EMAIL_CHANGE = "account:email:change"
    ACCESS_PASS_ISSUE = "recovery:access_pass:issue"
    ACCOUNT_RECOVER = "account:account:recover"


METHOD_ADD_ACTIONS = {
    "text_message": Action.METHOD_ADD_TEXT_MESSAGE,
    "authenticator_app": Action.METHOD_ADD_AUTHENTICATOR_APP,
    "passkey": Action.METHOD_ADD_PASSKEY,
}


def method_add_action(kind: str) -> Action:
    """The action for adding a sign-in method of ``kind`` (security.models.MethodKind)."""
    return METHOD_ADD_ACTIONS.get(str(kind), Action.METHOD_ADD)


# --- Whose rules -------------------------------------------------------------------------


def home_organization(user: Any) -> Organization | None:
    """The organisation that owns a work account; None for a personal one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if getattr(user, "kind", "") != "work" or not getattr(user, "organization_id", None):
        return None
    return user.organization


def policy_of(organization: Organization | None) -> OrganizationPolicy | None:
    """The organisation's policy; an organisation nobody configured has the defaults (unsaved)."""
    if organization is None:
        return None
    # Read by id, never through ``organization.policy``: that cache would outlive a change.
    found = OrganizationPolicy.objects.filter(organization_id=organization.pk).first()
    return found or OrganizationPolicy(organization_id=organization.pk)


def role_of(user: Any, organization: Organization | None = None) -> str:
    """The person's role in ``organization`` (their home one by default); member without a row."""
    organization = organization or home_organization(user)
    if organization is None:
        return ""
    role = (
        Membership.objects.filter(user=user, organization=organization).values_list("role", flat=True).first()
    )
    return role or Role.MEMBER


def is_admin(user: Any) -> bool:
    return role_of(user) in ADMIN_ROLES


def contact_sentence(organization: Organization) -> str:
    if organization.contact:
        return _("To ask for a change, contact your admins: %(contact)s.") % {"contact": organization.contact}
    return _("To ask for a change, contact your organization's IT admins.")


def _locked(organization: Organization, reason_code: str, reason: str) -> Decision:
    return Decision.deny(
        reason_code, f"{reason} {contact_sentence(organization)}", locked_by=organization.name
    )


def _profile_reason(organization: Organization, policy: OrganizationPolicy) -> str:
    return policy.profile_lock_reason or _("It comes from %(org)s's directory.") % {"org": organization.name}


# --- The decision ----------------------------------------------------------------------------


def evaluate(user: Any, action: Action | str) -> Decision:
    """Whether ``user`` may do ``action``, with the reason and the organisation that decided."""
    organization = home_organization(user)
    policy = policy_of(organization)
    if organization is None or policy is None:
        return Decision.allow()
    action = str(action)
    profile_locks = {
        Action.PROFILE_NAMES_CHANGE: policy.lock_names,
        Action.PHOTO_CHANGE: policy.lock_photo,
        Action.PHONE_CHANGE: policy.lock_phones,
        Action.EMAIL_CHANGE: policy.lock_emails,
    }
    if action in profile_locks:
        if profile_locks[Action(action)]:
            return _locked(organization, "org_manages_field", _profile_reason(organization, policy))
        return Decision.allow()
    if action == Action.TWO_STEP_DISABLE and policy.require_two_step:
        return _locked(
            organization,
            "org_requires_two_step",
            _("Your organization requires two-step verification."),
        )
    if action == Action.METHOD_ADD_TEXT_MESSAGE:
        if policy.text_messages == TextMessages.NOBODY or (
            policy.text_messages == TextMessages.NOT_ADMINS and is_admin(user)
        ):
            return _locked(
                organization,
                "org_forbids_text_messages",
                _(
                    "Your organization doesn't allow text messages as a sign-in method, as they can be intercepted."
                ),
            )
        return Decision.allow()
    if action == Action.LAST_PASSKEY_REMOVE and policy.require_passkey_for_admins and is_admin(user):
        return _locked(
            organization,
            "org_requires_passkey",
            _(
                "As an admin, your organization requires a passkey. Add another passkey before removing this one."
            ),
        )
    if action == Action.PASSWORD_RESET_SELF_SERVICE and not policy.self_service_password_reset:
        return _locked(
            organization,
            "org_forbids_self_service_reset",
            _("Your organization resets passwords for you."),
        )
    if action == Action.ACCOUNT_CLOSE and not policy.members_may_close_account:
        return _locked(
            organization,
            "org_manages_account",
            _("Your work account belongs to %(org)s, which closes it when you leave.")
            % {"org": organization.name},
        )
    if action == Action.DEVICE_REMOVE and not policy.members_may_remove_devices:
        return _locked(
            organization,
            "org_manages_devices",
            _("Your organization manages the devices signed in to your work account."),
        )
    return Decision.allow()


def require(user: Any, action: Action | str, *, request: HttpRequest | None = None) -> Decision:
    """Raise ``PolicyDenied`` unless ``user`` may do ``action``; a denial is a security event."""
    decision = evaluate(user, action)
    if not decision.allowed:
        record_event(
            "account:policy:deny",
            user=user,
            request=request,
            result=Result.BLOCKED,
            details={
                "action": str(action),
                "reason": decision.reason_code,
                "locked_by": decision.locked_by,
            },
        )
        raise PolicyDenied(decision)
    return decision


# --- Selectors other apps ask ------------------------------------------------------------------


def reset_methods_required(user: Any) -> int:
    """How many of the person's methods a self-service password reset must check (1 or 2).

    Ask ``evaluate(user, Action.PASSWORD_RESET_SELF_SERVICE)`` first: when self-service reset
    is off, this number does not matter.
    """
    policy = policy_of(home_organization(user))
    if policy is None:
        return 1
    return 2 if policy.reset_methods_required >= 2 else 1


def self_service_reset_for_email(email: str) -> Decision:
    """Whether "Forgot password" may start for ``email``, decided by its domain alone.

    SECURITY: the reset's first page must not tell whether an account exists; an
    organisation that verified the domain and resets its people's passwords itself is
    public knowledge, so saying so is safe. An account found behind another address is
    refused later, silently (``evaluate`` with PASSWORD_RESET_SELF_SERVICE).
    """
    organization = organization_for_domain(email.rpartition("@")[2])
    if organization is None:
        return Decision.allow()
    policy = policy_of(organization)
    if policy is not None and not policy.self_service_password_reset:
        return _locked(
            organization,
            "org_forbids_self_service_reset",
            _("Your organization resets passwords for you."),
        )
    return Decision.allow()


def password_rules(user: Any) -> tuple[int, list[str]]:
    """The organisation's minimum password length (8 to 64) and its banned words."""
    policy = policy_of(home_organization(user))
    if policy is None:
        return 0, []
    words = [str(w).strip().lower() for w in policy.password_banned_words or [] if str(w).strip()]
    return max(8, min(64, policy.password_min_length)), words


def session_limits(user: Any) -> tuple[int | None, int | None]:
    """(session lifetime, sign-in frequency), each in seconds, or None for no limit."""
    policy = policy_of(home_organization(user))
    if policy is None:
        return None, None
    lifetime = policy.session_lifetime_hours * 3600 if policy.session_lifetime_hours else None
    frequency = policy.sign_in_frequency_hours * 3600 if policy.sign_in_frequency_hours else None
    return lifetime, frequency


def unfamiliar_sign_in_rule(user: Any) -> str:
    """What the organisation does with an unfamiliar sign-in (a Premium feature; else allow)."""
    organization = home_organization(user)
    policy = policy_of(organization)
    if policy is None or not licences.has_feature(organization, licences.Feature.RISK_BASED_SIGN_IN):
        return UnfamiliarSignIn.ALLOW
    return policy.unfamiliar_sign_in


def longer_retention() -> dict[int, int]:
    """Organisation id -> days, for Premium organisations that keep sign-ins longer than the default."""
    rows = OrganizationPolicy.objects.filter(
        organization__licence=LicenceTier.PREMIUM,
        activity_retention_days__gt=settings.ACTIVITY_RETENTION_DAYS,
    ).values_list("organization_id", "activity_retention_days")
    return {organization_id: days for organization_id, days in rows if days}


@dataclass(frozen=True)
class Enrolment:
    """A sign-in method the organisation wants the person to set up.

    ``need`` is ``two_step`` or ``passkey``; until ``deadline`` the person may skip (they are
    asked at each sign-in), after it they must set it up before going on.
    """

    need: str
    organization: Organization
    deadline: datetime
    message: str

    @property
    def may_skip(self) -> bool:
        return timezone.now() < self.deadline


def _grace_start(user: Any, organization: Organization, policy: OrganizationPolicy) -> datetime:
    joined = (
        Membership.objects.filter(user=user, organization=organization)
        .values_list("created_at", flat=True)
        .first()
        or user.date_joined
    )
    since = policy.two_step_required_since or joined
    return max(joined, since)


def pending_enrolment(user: Any) -> Enrolment | None:
    """What the person still has to set up for their organisation, or None."""
    organization = home_organization(user)
    policy = policy_of(organization)
    if organization is None or policy is None:
        return None
    asked = methods_reset_enrolment(user, organization)  # the admin console's reset, no grace
    if asked is not None:
        return asked
    if not (policy.require_two_step or policy.require_passkey_for_admins):
        return None
    deadline = _grace_start(user, organization, policy) + timedelta(days=policy.two_step_grace_days)
    if policy.require_passkey_for_admins and is_admin(user) and not _methods().has_passkey(user):
        return Enrolment(
            "passkey",
            organization,
            deadline,
            _("%(org)s asks its admins to sign in with a passkey, which can't be phished.")
            % {"org": organization.name},
        )
    if policy.require_two_step and not _methods().two_step_required(user):
        return Enrolment(
            "two_step",
            organization,
            deadline,
            _("%(org)s requires two-step verification for your work account.") % {"org": organization.name},
        )
    return None


def methods_reset_enrolment(user: Any, organization: Organization) -> Enrolment | None:
    """The set-up an admin asked for with "Require new sign-in methods", until it is done.

    Done means two-step verification is on with a method added since the admin's reset;
    there is no grace period, since the admin took the old methods away.
    """
    since = (
        Membership.objects.filter(user=user, organization=organization, home=True)
        .values_list("methods_reset_at", flat=True)
        .first()
    )
    if since is None:
        return None
    if _methods().two_step_required(user) and _methods().has_method_added_since(user, since):
        return None
    return Enrolment(
        "two_step",
        organization,
        since,
        _("Your admin at %(org)s asked you to set up your sign-in methods again.")
        % {"org": organization.name},
    )


# --- Risk-based sign-in (Premium) --------------------------------------------------------------


def _unfamiliar(request: HttpRequest, user: Any) -> bool:
    """Whether this sign-in looks unfamiliar (activity/risk.py), assessed once per request."""
    cached = getattr(request, "_orgs_unfamiliar", None)
    if cached is None:
        cached = risk.assess_sign_in(
            user=user, context=context_of(request), occurred_at=timezone.now()
        ).unfamiliar
        request._orgs_unfamiliar = cached  # type: ignore[attr-defined]
    return bool(cached)


def unfamiliar_sign_in_blocked(*, request: HttpRequest | None, user: Any) -> bool:
    """The organisation blocks unfamiliar sign-ins and this one is."""
    if request is None or unfamiliar_sign_in_rule(user) != UnfamiliarSignIn.BLOCK:
        return False
    return _unfamiliar(request, user)


def unfamiliar_sign_in_needs_second_step(*, request: HttpRequest | None, user: Any) -> bool:
    """The organisation asks for a second step on unfamiliar sign-ins, this one is, and the
    person has a method to ask for (without one, the sign-in is held: see below)."""
    return _second_step_rule_applies(request, user, has_method=True)


def unfamiliar_sign_in_held(*, request: HttpRequest | None, user: Any) -> bool:
    """The organisation asks for a second step on unfamiliar sign-ins, this one is, and the
    person has no method to ask for: the sign-in is held until an admin vouches for them
    (a Temporary Access Pass).

    SECURITY: letting the password through, even only to a set-up page, would let whoever
    has the password register their own method and own the account from then on.
    """
    return _second_step_rule_applies(request, user, has_method=False)


def _second_step_rule_applies(request: HttpRequest | None, user: Any, *, has_method: bool) -> bool:
    if request is None or unfamiliar_sign_in_rule(user) != UnfamiliarSignIn.SECOND_STEP:
        return False
    if _methods().has_second_step_method(user) != has_method:
        return False
    if not has_method and sign_in_proven_by(request) in VOUCHED_RESETS:
        return False  # the admins' pass (or a completed account recovery) is the way out
    return _unfamiliar(request, user)


# --- Admin console --------------------------------------------------------------------------------


class ConsoleAction(StrEnum):
    """What an organisation's admin may do in the admin console, named ``scope:resource:action``."""

    VIEW = "console:console:view"
    MEMBER_RESET_PASSWORD = "console:member:reset_password"
    MEMBER_RESET_METHODS = "console:member:reset_methods"
    MEMBER_REVOKE_SESSIONS = "console:member:revoke_sessions"
    MEMBER_ISSUE_ACCESS_PASS = "console:member:issue_access_pass"
    MEMBER_BLOCK = "console:member:block"
    MEMBER_REMOVE = "console:member:remove"
    MEMBER_INVITE = "console:member:invite"
    LOGS_VIEW = "console:logs:view"
    LOGS_EXPORT = "console:logs:export"
    POLICY_CHANGE = "console:policy:change"
    BRANDING_CHANGE = "console:branding:change"
    ADMINS_MANAGE = "console:admins:manage"


_HELPDESK_ACTIONS = frozenset(
    {
        ConsoleAction.VIEW,
        ConsoleAction.MEMBER_RESET_PASSWORD,
        ConsoleAction.MEMBER_RESET_METHODS,
        ConsoleAction.MEMBER_REVOKE_SESSIONS,
        ConsoleAction.MEMBER_ISSUE_ACCESS_PASS,
        ConsoleAction.MEMBER_BLOCK,
        ConsoleAction.LOGS_VIEW,
        ConsoleAction.LOGS_EXPORT,
    }
)

# The one table of what each role may do in the console: a helpdesk admin
# resets passwords and methods, revokes sessions, issues passes and blocks sign-in; a
# global admin does everything, including policies, branding, members and other admins.
ROLE_ACTIONS: dict[str, frozenset[ConsoleAction]] = {
    Role.MEMBER: frozenset(),
    Role.HELPDESK_ADMIN: _HELPDESK_ACTIONS,
    Role.GLOBAL_ADMIN: frozenset(ConsoleAction),
}

# Actions on one member: they are refused on the admin's own account (their own pages do
# that, with their own checks) and, for a helpdesk admin, on a global admin.
MEMBER_ACTIONS = frozenset(
    {
        ConsoleAction.MEMBER_RESET_PASSWORD,
        ConsoleAction.MEMBER_RESET_METHODS,
        ConsoleAction.MEMBER_REVOKE_SESSIONS,
        ConsoleAction.MEMBER_ISSUE_ACCESS_PASS,
        ConsoleAction.MEMBER_BLOCK,
        ConsoleAction.MEMBER_REMOVE,
    }
)


def console_organization(actor: Any) -> Organization | None:
    """The organisation whose console ``actor`` may open: their home one, if they admin it."""
    organization = home_organization(actor)
    if organization is None or role_of(actor, organization) not in ADMIN_ROLES:
        return None
    return organization


def console_decision(actor: Any, action: ConsoleAction | str, *, member: Any = None) -> Decision:
    """Whether ``actor`` may do ``action`` in their home organisation's console (on ``member``).

    The caller has already found ``member`` inside that organisation (another one's is
    "not found", never "not allowed"); this answers only the role question.
    """
    organization = home_organization(actor)
    if organization is None:
        return Decision.deny("not_an_admin", _("Only an organization's admins can open the admin console."))
    role = role_of(actor, organization)
    if ConsoleAction(action) not in ROLE_ACTIONS.get(role, frozenset()):
        if role in ADMIN_ROLES:
            return Decision.deny(
                "global_admin_only",
                _("Only a global admin of %(org)s can do this.") % {"org": organization.name},
                locked_by=organization.name,
            )
        return Decision.deny("not_an_admin", _("Only an organization's admins can open the admin console."))
    if member is not None and action in MEMBER_ACTIONS:
        if getattr(member, "pk", None) == getattr(actor, "pk", None):
            return Decision.deny(
                "own_account",
                _("Change your own account from your own pages, such as Security info and Devices."),
            )
        if role != Role.GLOBAL_ADMIN and role_of(member, organization) == Role.GLOBAL_ADMIN:
            return Decision.deny(
                "helpdesk_on_global_admin",
                _("A helpdesk admin can't change a global admin's account. Ask another global admin."),
                locked_by=organization.name,
            )
    return Decision.allow()


def require_console(
    actor: Any, action: ConsoleAction | str, *, member: Any = None, request: HttpRequest | None = None
) -> Organization:
    """The actor's organisation, or ``PermissionDenied`` (recorded on the actor's account)."""
    decision = console_decision(actor, action, member=member)
    organization = home_organization(actor)
    if not decision.allowed or organization is None:
        if getattr(actor, "pk", None):
            record_event(
                "account:policy:deny",
                user=actor,
                request=request,
                result=Result.BLOCKED,
                details={
                    "action": str(action),
                    "reason": decision.reason_code,
                    "locked_by": decision.locked_by,
                },
            )
        raise PermissionDenied(decision.message)
    return organization
