"""What an organisation's admin does to a member's account from the member's console page.

Each action runs in the console's skeleton (``orgs.console.actions``): role and fresh sign-in,
a limit where it could be abused, the change inside ``transaction.atomic()``, the event on the
member's account with the admin as actor.

SECURITY: the actions that change how someone signs in apply only to accounts the
organisation owns (its home members). A guest's account belongs to another organisation or
to the person; its admins can only end the guest's membership here.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.accounts.models import User
from threshold.devices.models import TrustedDevice, TrustReason
from threshold.devices.services import end_sessions
from threshold.orgs.console.actions import Done, console_action
from threshold.orgs.models import Membership, Organization, Role
from threshold.orgs.policies import ConsoleAction
from threshold.orgs.services import ensure_not_last_global_admin, locked_membership
from threshold.recovery.services.access_pass import issue_access_pass
from threshold.security.models import RecoveryCode, SignInMethod

REMOVED_ACCOUNT_CLOSES_IN_DAYS = 30  # the shorter of recovery.models.CLOSURE_DAYS


def _home_member(organization: Organization, member: Any) -> Membership:
    """The member's row, locked; a guest is refused with the reason, another org's is "not found"."""
    row = locked_membership(member, organization)
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


def _end_trust_of(member: Any, reason: str) -> int:
    return TrustedDevice.objects.filter(user=member, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def new_temporary_password() -> str:
    """Four groups of six letters and digits from the system's CSPRNG (about 119 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


@console_action(
    ConsoleAction.MEMBER_RESET_PASSWORD, event="org:admin:password_reset", throttled_as="password"
)
def reset_member_password(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[str]:
    """Give the member a temporary password, returned once for the admin to pass on.

    The member must choose their own at their next sign-in (``User.must_change_password``,
    enforced on every page by accounts.middleware). Every session ends and every device
    that skipped two-step verification is asked again: whoever held the old password, or a
    session, must not keep a way in. Two-step verification itself stays as it was.
    """
    _home_member(organization, member)
    password = new_temporary_password()
    member.set_password(password)
    member.must_change_password = True
    member.save(update_fields=["password", "password_changed_at", "must_change_password"])
    ended = end_sessions(user=member)
    forgotten = _end_trust_of(member, TrustReason.PASSWORD_CHANGED)
    return Done(password, {"sessions_ended": ended, "trust_ended": forgotten})


@console_action(ConsoleAction.MEMBER_RESET_METHODS, event="org:admin:methods_reset", throttled_as="methods")
def require_new_methods(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[int]:
    """Remove the member's sign-in methods and recovery codes; returns how many methods went.

    Every session ends; at the next sign-in the member is led to set up two-step
    verification again before going on (``policies.methods_reset_enrolment``), whatever the
    organisation's policy. The password stays: a member who signed in with a passkey alone
    needs a password reset or a Temporary Access Pass as well, and the console says so.
    """
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
    ended = end_sessions(user=member)
    forgotten = _end_trust_of(member, TrustReason.TWO_STEP_CHANGED)
    return Done(
        len(methods), {"methods_removed": len(methods), "sessions_ended": ended, "trust_ended": forgotten}
    )


@console_action(ConsoleAction.MEMBER_REVOKE_SESSIONS, event="org:admin:sessions_revoke")
def revoke_member_sessions(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[int]:
    """Sign the member out everywhere and end every device's skip of two-step verification."""
    _home_member(organization, member)
    ended = end_sessions(user=member)
    forgotten = _end_trust_of(member, TrustReason.BY_PERSON)
    return Done(ended, {"sessions_ended": ended, "trust_ended": forgotten})


@console_action(
    ConsoleAction.MEMBER_ISSUE_ACCESS_PASS, event="org:admin:access_pass_issue", throttled_as="access_pass"
)
def issue_member_access_pass(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    member: User,
    minutes: int | None = None,
    one_time: bool = True,
) -> Done[tuple[Any, str]]:
    """A Temporary Access Pass for the member (recovery.services.access_pass.issue_access_pass), shown once."""
    _home_member(organization, member)
    access_pass, plain = issue_access_pass(
        user=member, issued_by=actor, request=request, minutes=minutes, one_time=one_time
    )
    lasts = int((access_pass.expires_at - access_pass.created_at).total_seconds() // 60)
    return Done((access_pass, plain), {"minutes": lasts, "one_time": one_time})


@console_action(ConsoleAction.MEMBER_BLOCK, event="org:admin:block")
def block_member_sign_in(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[bool]:
    """Refuse every sign-in to the member's account and end its sessions; False if it already was.

    The block is ``User.is_active``, the switch Django's authentication reads on every
    request and allauth at every sign-in (password, passkey, code, Temporary Access Pass),
    so a blocked person's open sessions stop working in every app process at once. It is
    separate from the member's own "Lock my account" (``locked_at``): a password reset by
    email lifts that lock but never this block (allauth does not reset inactive accounts),
    and unblocking leaves the member's own lock in place.
    """
    _home_member(organization, member)
    blocked = User.objects.filter(pk=member.pk, is_active=True).update(is_active=False)
    if not blocked:
        return Done(False)
    member.is_active = False
    ended = end_sessions(user=member)
    return Done(True, {"sessions_ended": ended})


@console_action(ConsoleAction.MEMBER_BLOCK, event="org:admin:unblock")
def unblock_member_sign_in(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[bool]:
    """Let the member sign in again; False if they were not blocked. Their own lock stays."""
    _home_member(organization, member)
    if member.closes_at is not None or member.closed_at is not None:
        raise ValidationError(_("This account is closing, so it can't be unblocked."), code="closing")
    unblocked = User.objects.filter(pk=member.pk, is_active=False).update(is_active=True)
    if not unblocked:
        return Done(False)
    member.is_active = True
    return Done(True, {})


@console_action(ConsoleAction.MEMBER_REMOVE, event="org:admin:member_remove")
def remove_member_from_organization(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User
) -> Done[bool]:
    """End the member's place in the organisation; returns whether their work account closes.

    A guest simply loses the membership. A home member's work account belongs to the
    organisation and cannot move elsewhere: sign-in is blocked at once, every session ends,
    and the account is set to close after the normal window (30 days), after which the
    daily ``close_due_accounts`` deletes its personal data and keeps the anonymous
    tombstone; the organisation's audit log keeps its events. Until then the operator can
    restore it from /staff/. The last global admin cannot be removed.
    """
    list(Membership.objects.select_for_update().filter(organization=organization, role=Role.GLOBAL_ADMIN))
    row = locked_membership(member, organization)
    ensure_not_last_global_admin(organization, row)
    home = row.home
    row.delete()
    details: dict[str, Any] = {"home": home}
    if home:
        now = timezone.now()
        closes_at = now + timedelta(days=REMOVED_ACCOUNT_CLOSES_IN_DAYS)
        User.objects.filter(pk=member.pk).update(is_active=False)
        User.objects.filter(pk=member.pk, closes_at__isnull=True, closed_at__isnull=True).update(
            closure_requested_at=now, closes_at=closes_at
        )
        member.refresh_from_db(fields=["is_active", "closure_requested_at", "closes_at"])
        details["sessions_ended"] = end_sessions(user=member)
        if member.closes_at is not None:
            details["closes_on"] = member.closes_at.date().isoformat()
    return Done(home, details)
