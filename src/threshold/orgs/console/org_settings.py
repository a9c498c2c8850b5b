"""The global admins' pages about the organisation itself: its policies, its branding, its admins.

Each runs in the console's skeleton (``orgs.console.actions``) and hands over to the
organisation service it shares with the staff admin, which changes inside its own transaction
and records the change.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from threshold.accounts.models import User
from threshold.orgs.console.actions import Done, console_action
from threshold.orgs.models import Membership, Organization, Role
from threshold.orgs.policies import ConsoleAction
from threshold.orgs.services import set_member_role, update_branding, update_policy


@console_action(ConsoleAction.POLICY_CHANGE)
def change_policy_from_console(
    *, organization: Organization, actor: Any, request: HttpRequest | None, changes: dict[str, Any]
) -> Done[list[str]]:
    """The Policies page: update_policy, which records each change on the admin's own activity."""
    return Done(update_policy(organization=organization, actor=actor, request=request, changes=changes))


@console_action(ConsoleAction.BRANDING_CHANGE)
def change_branding_from_console(
    *,
    organization: Organization,
    actor: Any,
    request: HttpRequest | None,
    changes: dict[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> Done[list[str]]:
    """The Branding page: update_branding (the logo is prepared before its transaction opens)."""
    return Done(
        update_branding(
            organization=organization,
            actor=actor,
            request=request,
            changes=changes,
            logo=logo,
            remove_logo=remove_logo,
        )
    )


@console_action(ConsoleAction.ADMINS_MANAGE)
def set_admin_role(
    *, organization: Organization, actor: Any, request: HttpRequest | None, member: User, role: str
) -> Done[bool]:
    """Promote or demote one of the organisation's own people (set_member_role does the change)."""
    if (
        Role(role) != Role.MEMBER
        and not Membership.objects.filter(user=member, organization=organization, home=True).exists()
    ):
        if Membership.objects.filter(user=member, organization=organization).exists():
            raise ValidationError(
                _("Only people whose work account belongs to the organization can be admins.")
            )
        raise Membership.DoesNotExist
    return Done(
        set_member_role(organization=organization, actor=actor, request=request, member=member, role=role)
    )
