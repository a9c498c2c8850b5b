"""The one skeleton every admin console action runs in.

An action is a keyword-only service named for what the admin does (``block_member_sign_in``),
declared with ``@console_action``. The decorator does what every action needs, in this order:

1. admit the admin: their role allows the action (``policies.require_console``, the one table
   of who may do what), in this organisation, which must be their own console's;
2. a sign-in from the last few minutes (``security.services.ensure_fresh_sign_in``);
3. where the action could be abused, one count against the admin's limit;
4. the change, inside ``transaction.atomic()``;
5. its event, in the same transaction, recorded on the MEMBER's account with the admin as its
   actor: the member reads it on their own Recent activity ("Your admin reset your password")
   and the organisation's audit log (``orgs.console.selectors``) reads the same row.

The change returns ``Done(result, details)``: the caller gets ``result``; ``details`` (beside
the organisation and the admin, which every event carries) go on the event, and None means
nothing changed, so nothing is recorded. An action that hands over to an organisation service
shared with the staff admin (``update_policy``, ``invite_member``, …) declares no event: that
service opens its own transaction and records its own events, so the skeleton only admits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from threshold.activity.services import record_event
from threshold.orgs.models import Organization
from threshold.orgs.policies import ConsoleAction, require_console
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in
from threshold.verification.throttle import take

THROTTLE_LIMIT = 20  # sensitive console actions per admin per window
THROTTLE_SECONDS = 15 * 60


class ConsoleThrottled(Exception):
    """Too many sensitive console actions by this admin: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Done[T]:
    """What an action's change gives back: ``result`` for the caller, ``details`` for its event
    (None: nothing changed, so no event)."""

    result: T
    details: dict[str, Any] | None = None


def admit(
    *, organization: Organization, actor: Any, action: ConsoleAction, request: HttpRequest | None, member: Any
) -> None:
    """The role check for this organisation, then a recent sign-in; raises if either fails."""
    own = require_console(actor, action, member=member, request=request)
    if own.pk != organization.pk:
        raise PermissionDenied
    ensure_fresh_sign_in(request=request, user=actor)


def throttle(*, actor: Any, name: str) -> None:
    """A fixed window per admin and action, shared by every app process through the cache.

    SECURITY: a stolen admin session must not mint passwords or passes for a whole
    organisation in a loop; an admin doing a morning's helpdesk work never meets the limit.
    """
    wait = take([(f"console:{name}:{actor.pk}", THROTTLE_LIMIT, THROTTLE_SECONDS)])
    if wait:
        raise ConsoleThrottled(wait)


def console_action[**P, T](
    action: ConsoleAction, *, event: str | None = None, throttled_as: str | None = None
) -> Callable[[Callable[P, Done[T]]], Callable[P, T]]:
    """Declare a console action: ``action`` is the role table's name for it, ``event`` the
    catalogued code recorded on the member, ``throttled_as`` the limit it counts against."""

    def decorate(change: Callable[P, Done[T]]) -> Callable[P, T]:
        @wraps(change)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            named: dict[str, Any] = kwargs  # every action is keyword-only
            organization: Organization = named["organization"]
            actor, request, member = named["actor"], named["request"], named.get("member")
            admit(organization=organization, actor=actor, action=action, request=request, member=member)
            if throttled_as is not None:
                throttle(actor=actor, name=throttled_as)
            if event is None:
                return change(*args, **kwargs).result
            with transaction.atomic():
                done = change(*args, **kwargs)
                if done.details is not None:
                    record_event(
                        event,
                        user=member,
                        actor=actor,
                        request=request,
                        details={
                            "organization": organization.name,
                            "org_id": str(organization.public_id),
                            "admin": getattr(actor, "name", "") or str(actor),
                            **done.details,
                        },
                    )
            return done.result

        run.console_action = action  # type: ignore[attr-defined] # read by the skeleton's test
        return run

    return decorate
