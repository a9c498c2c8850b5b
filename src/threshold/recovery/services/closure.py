"""Closing an account: the window, reopening, and at its end the purge of personal data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import logout
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent
from threshold.activity.services import record_event
from threshold.devices.services import end_sessions
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery.models import (
    CLOSURE_DAYS,
    ClosureReason,
)
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in

# Keys of an event's details that can name the person (addresses, numbers, names they
# chose); removed from the events that are kept once the account is closed.
PERSONAL_DETAILS = ("email", "from", "to", "number", "name", "device_name", "sign_in_device", "sign_in_ip")


class AlreadyClosing(Exception):
    """The account is already set to close (or closed): nothing was changed."""


def close_account(*, user: Any, request: HttpRequest | None, days: int, reason: str = "") -> datetime:
    """Mark the account for closure in ``days`` days, end every session and tell every address.

    Returns when it closes. SECURITY: needs a fresh sign-in, since closing ends the
    person's access and (after the window) deletes their data; the window exists so that
    a mistake, or someone else at an unlocked computer, can be undone by the owner.
    """
    policies.require(user, Action.ACCOUNT_CLOSE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    if days not in CLOSURE_DAYS:
        raise ValueError(f"closure window must be one of {CLOSURE_DAYS}")
    reason = reason if reason in ClosureReason.values else ""
    now = timezone.now()
    closes_at = now + timedelta(days=days)
    with transaction.atomic():
        marked = User.objects.filter(pk=user.pk, closes_at__isnull=True, closed_at__isnull=True).update(
            closure_requested_at=now, closes_at=closes_at
        )
        if not marked:
            raise AlreadyClosing(user.pk)
        user.closure_requested_at, user.closes_at = now, closes_at
        ended = end_sessions(user=user)
        record_event(
            "account:close:request",
            user=user,
            request=request,
            details={
                "days": days,
                "reason": reason,
                "closes_at": closes_at.isoformat(),
                "sessions_ended": ended,
            },
        )
    if request is not None and hasattr(request, "session"):
        logout(request)
    return closes_at


def reopen_account(*, user: Any, request: HttpRequest | None) -> bool:
    """Take the account back before its window ends; everything is as it was.

    SECURITY: needs a fresh sign-in (every session ended at closure, so a session of a
    closing account comes from a sign-in made since). The conditional update and the
    purge's row lock mean an account is either reopened or purged, never both.
    """
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        reopened = User.objects.filter(
            pk=user.pk, closes_at__gt=timezone.now(), closed_at__isnull=True
        ).update(closure_requested_at=None, closes_at=None)
        if reopened:
            user.closure_requested_at = user.closes_at = None
            record_event("account:reopen", user=user, request=request)
    return bool(reopened)


# --- The end of the window ---------------------------------------------------------------


def close_due_accounts(*, now: datetime | None = None) -> int:
    """Delete the personal data of every account whose window has ended; returns how many.

    Idempotent: one account per transaction, each picked again under a row lock with its
    condition re-checked, so a second run (or a run beside this one) skips what is done
    and a run killed halfway leaves every account either untouched or fully closed.
    """
    now = now or timezone.now()
    due = User.objects.filter(closes_at__lte=now, closed_at__isnull=True).order_by("closes_at", "pk")
    return sum(1 for pk in list(due.values_list("pk", flat=True)) if close_one_account(pk=pk, now=now))


def close_one_account(*, pk: int, now: datetime | None = None) -> bool:
    """Close one due account: delete its personal data and keep an anonymous tombstone."""
    now = now or timezone.now()
    with transaction.atomic():
        user = (
            User.objects.select_for_update().filter(pk=pk, closes_at__lte=now, closed_at__isnull=True).first()
        )
        if user is None:
            return False
        requested_at = user.closure_requested_at
        end_sessions(user=user)
        _delete_personal_data(user)
        _anonymise(user, now=now)
        _anonymise_events(user)
        record_event(
            "account:close:complete",
            user=user,
            details={"requested_at": requested_at.isoformat() if requested_at else ""},
        )
    return True


def _delete_personal_data(user: User) -> None:
    """Every row that belongs to the account, except its security events.

    Walks the account's reverse relations rather than a hand-kept list, so a model added
    later (by any app) is deleted too unless it is kept here on purpose.
    """
    for relation in User._meta.related_objects:
        model = relation.related_model
        if model is SecurityEvent or not isinstance(model, type):
            continue
        if relation.many_to_many:
            getattr(user, relation.get_accessor_name() or "").clear()
            continue
        if relation.on_delete is models.SET_NULL:
            # A row that only names the person as who did something to someone else's
            # account (the operator who decided a recovery, the admin who issued a pass)
            # belongs to that other account: it stays, without the name.
            model._default_manager.filter(**{relation.field.name: user}).update(**{relation.field.name: None})
            continue
        model._default_manager.filter(**{relation.field.name: user}).delete()
    user.groups.clear()
    user.user_permissions.clear()


def tombstone_label(user: Any) -> str:
    return f"closed-{user.public_id}@invalid"


def _anonymise(user: User, *, now: datetime) -> None:
    user.email = tombstone_label(user)
    user.display_name = user.given_name = user.family_name = ""
    user.photo = None
    user.photo_updated_at = None
    user.set_unusable_password()
    user.password_changed_at = None
    user.time_zone = "UTC"
    user.is_active = user.is_staff = user.is_superuser = False
    user.locked_at = None
    user.last_login = None
    user.closed_at = now
    user.save()


def _anonymise_events(user: User) -> None:
    """The kept events name the tombstone, not the person.

    SECURITY: events are append-only for everyone else; this rewrite of their labels is
    the one exception, done with ``update()`` because deleting a person's data is the law
    the log must follow, not a change to what happened.
    """
    label = tombstone_label(user)
    SecurityEvent.objects.filter(user=user).update(subject_label=label)
    SecurityEvent.objects.filter(actor_public_id=user.public_id).update(actor_label=label)
    personal = models.Q()
    for key in PERSONAL_DETAILS:
        personal |= models.Q(details__has_key=key)
    for pk, details in SecurityEvent.objects.filter(personal, user=user).values_list("pk", "details"):
        kept = {k: v for k, v in (details or {}).items() if k not in PERSONAL_DETAILS}
        SecurityEvent.objects.filter(pk=pk).update(details=kept)
