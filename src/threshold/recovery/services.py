"""The only writers of account closure (and, with it, the purge of personal data), data
exports and Temporary Access Passes.

Each service asks ``orgs.policies`` first, needs a fresh sign-in where the change could
hurt the person, changes inside ``transaction.atomic()`` and records the event; the
catalogue's ``notify_user`` types alert every verified address once the change commits.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import logout
from django.db import models, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext

from threshold.accounts import throttle
from threshold.accounts.models import User
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import codes, selectors
from threshold.recovery.models import (
    CLOSURE_DAYS,
    ClosureReason,
    DataExport,
    ExportStatus,
    TemporaryAccessPass,
)
from threshold.security.selectors import SIGN_IN_PROVEN_BY
from threshold.security.services import ensure_fresh_sign_in

logger = logging.getLogger(__name__)

# Keys of an event's details that can name the person (addresses, numbers, names they
# chose); removed from the events that are kept once the account is closed.
PERSONAL_DETAILS = ("email", "from", "to", "number", "name", "device_name", "sign_in_device", "sign_in_ip")


class AlreadyClosing(Exception):
    """The account is already set to close (or closed): nothing was changed."""


def _end_sessions(user: Any) -> int:
    ended = 0
    for session in UserSession.objects.filter(user=user):
        session.end()
        ended += 1
    return ended


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
        ended = _end_sessions(user)
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
        _end_sessions(user)
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


# --- Download your data ------------------------------------------------------------------

EXPORT_LIFETIME = timedelta(hours=24)


class ExportNotFound(Exception):
    """Not a ready, unexpired export of this account: answer 404."""


def request_data_export(*, user: Any, request: HttpRequest | None) -> DataExport:
    """Ask for a copy of the account's data; it is built in the background.

    SECURITY: needs a fresh sign-in: the copy holds every address and the whole sign-in
    history, which a session left open on a shared computer must not hand out. Asking
    again while one is being built returns that one.
    """
    policies.require(user, Action.DATA_EXPORT, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
        export = (
            DataExport.objects.filter(user=user, status__in=[ExportStatus.PENDING, ExportStatus.BUILDING])
            .defer("content")
            .first()
        )
        if export is not None:
            return export
        export = DataExport.objects.create(user=user)
        record_event(
            "account:export:request", user=user, request=request, details={"export": str(export.public_id)}
        )
        export_id = export.pk
        transaction.on_commit(lambda: _queue_export(export_id))
    return export


def _queue_export(export_id: int) -> None:
    from threshold.recovery.tasks import build_data_export

    build_data_export.enqueue(export_id)


def build_data_export(*, export_id: int) -> bool:
    """Build the ZIP of one export: JSON and CSV of each section, with progress as it goes.

    Claimed with a conditional update, so a task delivered twice builds it once. Expired
    exports of every account are deleted first.
    """
    delete_expired_exports()
    claimed = DataExport.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.BUILDING, progress=0
    )
    if not claimed:
        return False
    export = DataExport.objects.select_related("user").defer("content").get(pk=export_id)
    try:
        content = _build_zip(export)
    except Exception:
        logger.exception("Data export %s could not be built", export_id)
        DataExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED)
        return False
    now = timezone.now()
    with transaction.atomic():
        DataExport.objects.filter(pk=export_id, status=ExportStatus.BUILDING).update(
            status=ExportStatus.READY,
            progress=100,
            content=content,
            size=len(content),
            ready_at=now,
            expires_at=now + EXPORT_LIFETIME,
        )
        record_event(
            "account:export:ready",
            user=export.user,
            details={"export": str(export.public_id), "size": len(content)},
        )
    return True


def _build_zip(export: DataExport) -> bytes:
    sections = selectors.export_sections(export.user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(export))
        for done, (name, rows) in enumerate(sections, start=1):
            archive.writestr(f"{name}.json", json.dumps(rows, indent=2, default=_plain, ensure_ascii=False))
            archive.writestr(f"{name}.csv", _csv(rows))
            # Committed as it goes (no surrounding transaction), so the page can show it.
            DataExport.objects.filter(pk=export.pk).update(progress=int(done * 95 / len(sections)))
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: json.dumps(value, default=_plain) if isinstance(value, dict | list) else _cell(value)
                for key, value in row.items()
            }
        )
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # SECURITY: a cell starting with these is run as a formula by spreadsheet programs
        # (CSV injection); an address or device name the person typed must stay text.
        return "'" + value
    return value


def _readme(export: DataExport) -> str:
    with translation.override(getattr(export.user, "locale", "") or None):
        return "\n".join(
            [
                gettext("Your data from Threshold, as of %(date)s.")
                % {"date": timezone.now().strftime("%Y-%m-%d %H:%M UTC")},
                "",
                gettext(
                    "Each part is here twice: as JSON (for programs) and as CSV (for spreadsheets): "
                    "profile, contact_addresses, sign_in_methods, devices and activity."
                ),
                gettext(
                    "Sign-in methods are described, never copied: no password, code or key that "
                    "could sign in to your account is in this file."
                ),
                "",
            ]
        )


def delete_expired_exports(*, now: datetime | None = None) -> int:
    """Delete every export past its 24 hours (and any left unfinished for as long)."""
    now = now or timezone.now()
    deleted, _ = DataExport.objects.filter(
        models.Q(expires_at__lte=now)
        | models.Q(expires_at__isnull=True, requested_at__lte=now - EXPORT_LIFETIME)
    ).delete()
    return deleted


def download_data_export(*, user: Any, request: HttpRequest | None, public_id: Any) -> DataExport:
    """The ready ZIP of one of this account's exports, recorded as downloaded.

    SECURITY: only the account that asked for it, only within 24 hours, and only after a
    fresh sign-in; anything else is answered exactly like an export that does not exist.
    """
    ensure_fresh_sign_in(request=request, user=user)
    export = selectors.downloadable_export(user, public_id)
    if export is None:
        raise ExportNotFound(public_id)
    record_event(
        "account:export:download", user=user, request=request, details={"export": str(export.public_id)}
    )
    return export


# --- Temporary Access Pass -------------------------------------------------------------------


class AccessPassNotIssued(Exception):
    """The pass was not issued; ``message`` says why (for the operator or admin who asked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessPassRefused(Exception):
    """The pass did not sign anyone in. SECURITY: one answer for every reason (see ``reason``,
    which is only recorded), so the sign-in page tells nothing about the account or the pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccessPassThrottled(Exception):
    """Too many pass sign-ins for this account or client address: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


OPERATOR = "operator (threshold issue_access_pass)"


def issue_access_pass(
    *,
    user: Any,
    issued_by: Any,
    request: HttpRequest | None,
    minutes: int | None = None,
    one_time: bool = True,
) -> tuple[TemporaryAccessPass, str]:
    """A new pass for ``user``, returned once in plain text; every earlier live pass stops working.

    ``issued_by`` is the staff member or organisation admin who asked (None for the operator's
    command). The person is told at once, on every verified address: a pass is a way into
    their account that they did not make themselves.

    SECURITY: a locked account gets its pass, but the pass will not sign in until the account
    is unlocked (a lock is the owner's emergency brake, which an issuer cannot release by
    accident); closing and closed accounts get none.
    """
    policies.require(user, Action.ACCESS_PASS_ISSUE, request=request)
    low, high = settings.ACCESS_PASS_MINUTES_BOUNDS
    minutes = settings.ACCESS_PASS_MINUTES if minutes is None else minutes
    if not low <= minutes <= high:
        raise AccessPassNotIssued(
            gettext("A pass can work for %(low)d to %(high)d minutes.") % {"low": low, "high": high}
        )
    if user.closed_at is not None or user.is_closing:
        raise AccessPassNotIssued(gettext("This account is closed or closing: it cannot have a pass."))
    plain = codes.new_access_pass()
    now = timezone.now()
    with transaction.atomic():
        revoked = TemporaryAccessPass.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)
        access_pass = TemporaryAccessPass.objects.create(
            user=user,
            issued_by=issued_by,
            pass_hash=codes.hash_access_pass(user_id=user.pk, normalized=codes.normalize_access_pass(plain)),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            one_time=one_time,
        )
        record_event(
            "account:access_pass:issue",
            user=user,
            request=request,
            actor=issued_by if issued_by is not None else OPERATOR,
            details={
                "pass": str(access_pass.public_id),
                "minutes": minutes,
                "one_time": one_time,
                "expires_at": access_pass.expires_at.isoformat(),
                "revoked_earlier": revoked,
            },
        )
    return access_pass, plain


def revoke_access_pass(
    *, access_pass: TemporaryAccessPass, revoked_by: Any, request: HttpRequest | None
) -> bool:
    """Stop a pass working; True if it was live until now.

    A session the pass signed in ends at its next request (``AccessPassSessionMiddleware``).
    """
    with transaction.atomic():
        revoked = TemporaryAccessPass.objects.filter(pk=access_pass.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            record_event(
                "account:access_pass:revoke",
                user=access_pass.user,
                request=request,
                actor=revoked_by if revoked_by is not None else OPERATOR,
                details={"pass": str(access_pass.public_id)},
            )
    return bool(revoked)


def _refuse(*, reason: str, user: Any, email: str, request: HttpRequest | None) -> AccessPassRefused:
    record_event(
        "account:access_pass:refused",
        user=user,
        request=request,
        subject_label=email[:254],
        result=Result.FAILURE,
        method=selectors.ACCESS_PASS,
        details={"reason": reason},
    )
    return AccessPassRefused(reason)


def redeem_access_pass(*, email: str, code: str, request: HttpRequest | None) -> TemporaryAccessPass:
    """The pass for ``email`` that ``code`` is, taken for one sign-in; ``AccessPassRefused`` otherwise.

    SECURITY: every way of failing (no such account, wrong or malformed pass, expired, used,
    revoked, another account's pass, a locked, closing or unverified account) raises the
    same exception after the same work (one keyed hash), and is recorded with its reason.
    A one-time pass is spent with a conditional UPDATE (``used_at IS NULL``), so when it
    arrives many times at once exactly one request gets in.
    """
    from threshold.accounts.selectors import user_by_email

    email = email.strip()
    user = user_by_email(email) if email else None
    normalized = codes.normalize_access_pass(code)
    candidate = codes.hash_access_pass(user_id=user.pk if user is not None else 0, normalized=normalized)
    if user is None:
        raise _refuse(reason="unknown_account", user=None, email=email, request=request)
    match = None
    for row in TemporaryAccessPass.objects.filter(user=user).only(
        "pk", "pass_hash", "expires_at", "revoked_at", "used_at", "one_time"
    ):
        if constant_time_compare(row.pass_hash, candidate) and normalized:
            match = row
    if match is None:
        raise _refuse(reason="wrong_pass", user=user, email=email, request=request)
    now = timezone.now()
    if match.revoked_at is not None:
        raise _refuse(reason="revoked", user=user, email=email, request=request)
    if match.expires_at <= now:
        raise _refuse(reason="expired", user=user, email=email, request=request)
    if match.spent:
        raise _refuse(reason="used", user=user, email=email, request=request)
    if not user.is_active or user.closed_at is not None or user.is_closing:
        raise _refuse(reason="closed", user=user, email=email, request=request)
    if user.is_locked:
        # SECURITY: the lock is the owner's emergency brake; a pass does not release it.
        raise _refuse(reason="locked", user=user, email=email, request=request)
    if not EmailAddress.objects.filter(user=user, verified=True).exists():
        # allauth would first ask to verify the address, and the sign-in would come back
        # without the pass's proof; sign-in methods need a verified address anyway.
        raise _refuse(reason="unverified", user=user, email=email, request=request)
    live = TemporaryAccessPass.objects.filter(pk=match.pk, revoked_at__isnull=True, expires_at__gt=now)
    if match.one_time:
        live = live.filter(used_at__isnull=True)
    if live.update(used_at=now, use_count=F("use_count") + 1) != 1:
        raise _refuse(reason="used", user=user, email=email, request=request)
    match.user = user
    match.used_at = now
    return match


def sign_in_with_access_pass(*, request: HttpRequest, email: str, code: str) -> HttpResponse:
    """Sign in with an email address and a Temporary Access Pass; answers allauth's response.

    The pass is the proof: no password and no second step. The session that results can
    only set up sign-in methods (``AccessPassSessionMiddleware``), counts as a fresh sign-in
    for that, and ends when the pass expires.
    """
    email = email.strip()
    limits = settings.ACCESS_PASS_ATTEMPT_LIMITS
    ip = context_of(request).ip or "none"
    wait = throttle.take(
        [(f"access-pass:account:{throttle.digest(email.lower())}", n, s) for n, s in limits["account"]]
        + [(f"access-pass:address:{throttle.digest(ip)}", n, s) for n, s in limits["address"]]
    )
    if wait:
        from threshold.accounts.selectors import user_by_email

        record_event(
            "account:signin:throttled",
            user=user_by_email(email) if email else None,
            request=request,
            subject_label=email[:254],
            result=Result.BLOCKED,
            method=selectors.ACCESS_PASS,
            details={"retry_after": wait},
        )
        raise AccessPassThrottled(wait)
    access_pass = redeem_access_pass(email=email, code=code, request=request)
    user = access_pass.user
    # SECURITY: the mark that lets this one sign-in skip the second step lives on the request
    # only, never in the session, so nothing of it can outlast this request.
    setattr(request, SIGN_IN_PROVEN_BY, selectors.ACCESS_PASS)
    try:
        response = perform_login(request, user, redirect_url=reverse("recovery_set_up"))
    finally:
        delattr(request, SIGN_IN_PROVEN_BY)
    if request.user.is_authenticated and request.user.pk == user.pk:
        session = request.session
        session[selectors.RESET_BY_SESSION_KEY] = selectors.ACCESS_PASS
        session[selectors.ACCESS_PASS_SESSION_KEY] = str(access_pass.public_id)
        session[selectors.ACCESS_PASS_UNTIL_SESSION_KEY] = access_pass.expires_at.timestamp()
        # SECURITY: the session ends when the pass does, whatever "Keep me signed in" was.
        session.set_expiry(access_pass.expires_at)
    return response
