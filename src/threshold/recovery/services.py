"""The only writers of account closure (and, with it, the purge of personal data), data
exports, Temporary Access Passes and account recovery.

Each service asks ``orgs.policies`` first, needs a fresh sign-in where the change could
hurt the person, changes inside ``transaction.atomic()`` and records the event; the
catalogue's ``notify_user`` types alert every verified address once the change commits.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

from allauth.account.models import EmailAddress
from allauth.account.utils import perform_login
from allauth.mfa.base.forms import AuthenticateForm
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, ngettext

from threshold.accounts import codes as phone_codes
from threshold.accounts import throttle
from threshold.accounts import throttle as sign_in_throttle
from threshold.accounts.codes import (
    CodesStopped,
    Outcome,
    check_code,
    flow_of,
    issue_code,
    send_wait,
)
from threshold.accounts.models import User, VerificationPurpose
from threshold.accounts.throttle import digest
from threshold.activity.models import Result, SecurityEvent
from threshold.activity.services import record_event, record_staff_change
from threshold.core.context import context_of
from threshold.core.mail import send_templated_mail
from threshold.core.outgoing import queue_text
from threshold.core.sms import SmsDeliveryError
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import codes, selectors, tasks
from threshold.recovery import throttle as recovery_throttle
from threshold.recovery.models import (
    CLOSURE_DAYS,
    OPEN_STATUSES,
    AccountRecovery,
    CancelledBy,
    ClosureReason,
    DataExport,
    Decision,
    ExportStatus,
    RecoveryKind,
    RecoveryStatus,
    TemporaryAccessPass,
)
from threshold.recovery.sending import code_minutes
from threshold.security import throttle as security_throttle
from threshold.security import webauthn
from threshold.security.models import MethodKind
from threshold.security.selectors.challenge import SecondStepOption
from threshold.security.selectors.methods import masked_number, two_step_required
from threshold.security.selectors.sign_in import SIGN_IN_PROVEN_BY
from threshold.security.services.errors import Refused
from threshold.security.services.fresh_sign_in import ensure_fresh_sign_in
from threshold.security.services.method_use import check_passkey_counter, note_authenticator_used
from threshold.security.services.passwords import note_password_reset
from threshold.security.services.recovery_codes import use_recovery_code

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


# --- Resetting a forgotten password --------------------------------------------------------------
#
# SECURITY: every answer of the reset is the same whether or not the email typed has an
# account and whether or not the address or number asked for belongs to it: the same
# pages, words, statuses and redirects; codes are sent, tries counted in the database and
# events recorded only for a real account, and a browser-independent counter in the cache
# gives an unknown account the same "too many wrong codes" after the same five tries.


class ResetRefused(Exception):
    """The step was not taken; ``message`` says what to do."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _reset_throttled(*, request: HttpRequest | None, user: Any, wait: int, step: str) -> ResetRefused:
    if user is not None:
        record_event(
            "account:password:reset:throttled",
            user=user,
            request=request,
            result=Result.BLOCKED,
            details={"retry_after": wait, "step": step},
        )
    return ResetRefused(
        gettext("You've tried several times in a short while. Wait %(wait)s, then try again.")
        % {"wait": _wait_words(wait)},
        code="throttled",
    )


def _take_reset_step(*, request: HttpRequest | None, email: str, user: Any, step: str) -> None:
    """Count one step of a reset per email typed and per client address; refuse over the limits."""
    limits = settings.PASSWORD_RESET_LIMITS
    ip = context_of(request).ip or "none"
    keys = [
        (f"reset:account:{sign_in_throttle.digest(email.lower())}", count, window)
        for count, window in limits["account"]
    ] + [
        (f"reset:address:{sign_in_throttle.digest(ip)}", count, window) for count, window in limits["address"]
    ]
    wait = sign_in_throttle.take(keys)
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step=step)


def _flow_user(flow: selectors.ResetFlow) -> User | None:
    # SECURITY: the same query whether or not the flow has an account (0 is no account's key).
    return User.objects.filter(pk=flow.user_id or 0, is_active=True, closed_at__isnull=True).first()


def _save_flow(request: HttpRequest, flow: selectors.ResetFlow) -> None:
    request.session[selectors.RESET_SESSION_KEY] = flow.as_dict()


def start_password_reset(*, request: HttpRequest, email: str) -> selectors.ResetFlow:
    """Step 1: the email address the person signs in with. Nothing is sent yet."""
    email = email.strip().lower()
    user = selectors.account_for_reset(email)
    _take_reset_step(request=request, email=email, user=user, step="start")
    # SECURITY: decided by the address's domain alone (an organisation that verified it and
    # turned self-service reset off), so the answer says nothing about whether the account exists.
    decision = policies.self_service_reset_for_email(email)
    if not decision.allowed:
        raise ResetRefused(decision.message, code=decision.reason_code)
    flow = selectors.ResetFlow(email=email, user_id=user.pk if user else None, started_at=time.time())
    request.session.pop(selectors.RESET_LINK_SESSION_KEY, None)
    _save_flow(request, flow)
    return flow


def send_password_reset_code(*, request: HttpRequest, flow: selectors.ResetFlow, target: str) -> None:
    """Step 2: queue the sending of a code to ``target`` (a lower-case email address or an E.164
    number); the worker sends it if ``target`` is a verified address or number of the account.

    SECURITY: whatever was typed, this request does the same work (the same queries, one task
    queued) and the person is told the same thing: if it is on the account, a code was sent.
    Whether it is, is decided in the worker (``sending.send_password_reset_code``).
    """
    user = _flow_user(flow)
    # Bound before anything depends on the account, so a known and an unknown one do alike.
    code_flow = phone_codes.flow_of(request)
    _take_reset_step(request=request, email=flow.email, user=user, step="send")
    flow.target, flow.code_ok_at, flow.issued_at, flow.second_step = target, 0.0, "", ""
    _save_flow(request, flow)
    ctx = context_of(request)
    tasks.send_password_reset_code.enqueue(
        user_id=user.pk if user is not None else None,
        target=target,
        flow=code_flow,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
    )


def _wrong_code() -> ResetRefused:
    return ResetRefused(
        gettext("That code didn't work. Check it and try again, or ask for a new code."), code="wrong_code"
    )


def _codes_stopped() -> ResetRefused:
    return ResetRefused(
        gettext(
            "Too many wrong codes, so codes for this address or number are stopped for an hour. "
            "Try again later, or use another way back in."
        ),
        code="too_many_attempts",
    )


def _tries_key(flow: selectors.ResetFlow) -> str:
    return f"reset-tries:{sign_in_throttle.digest(flow.email)}:{sign_in_throttle.digest(flow.target)}"


def _take_check(*, request: HttpRequest | None, user: Any) -> None:
    ip = context_of(request).ip or "none"
    wait = sign_in_throttle.take(
        [
            (f"reset-check:address:{sign_in_throttle.digest(ip)}", count, window)
            for count, window in settings.PASSWORD_RESET_CHECK_LIMITS
        ]
    )
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step="code")


def _still_fresh(user: Any, issued_at: datetime | None) -> bool:
    """Whether nothing has happened on the account since the code was sent that should end it.

    SECURITY: a sign-in after the code was sent shows the owner is evidently fine, and a
    password change after it means the reset is no longer wanted; either ends the code.
    """
    if issued_at is None:
        return False
    user.refresh_from_db(fields=["last_login", "password_changed_at"])
    if user.last_login is not None and user.last_login > issued_at:
        return False
    return not (user.password_changed_at is not None and user.password_changed_at > issued_at)


def check_password_reset_code(*, request: HttpRequest, flow: selectors.ResetFlow, code: str) -> None:
    """Step 3: the code that was sent. Raises ``ResetRefused`` with the same words for every failure."""
    if not flow.target:
        raise _wrong_code()
    user = _flow_user(flow)
    _take_check(request=request, user=user)
    key = _tries_key(flow)
    # SECURITY: counted before the code is compared, in one atomic step (the database
    # cache's own incr is a read then a write), so parallel guesses cannot pass the limit.
    tries = sign_in_throttle.increment(key, settings.PHONE_CODE_TRY_WINDOW)
    if tries is None:
        raise _reset_throttled(request=request, user=user, wait=1, step="code")
    if tries > settings.PHONE_CODE_MAX_TRIES:
        raise _codes_stopped()
    if user is None or not selectors.is_reset_target(user, flow.target):
        if tries >= settings.PHONE_CODE_MAX_TRIES:
            raise _codes_stopped()
        raise _wrong_code()
    with transaction.atomic():
        check = phone_codes.check_code(
            user=user,
            purpose=VerificationPurpose.PASSWORD_RESET,
            target=flow.target,
            flow=phone_codes.flow_of(request),
            code=code,
        )
        fresh = check.outcome == phone_codes.Outcome.MATCH and _still_fresh(user, check.issued_at)
        if not fresh:
            reason = str(check.outcome) if check.outcome != phone_codes.Outcome.MATCH else "superseded"
            record_event(
                "account:password:reset:code_failure",
                user=user,
                request=request,
                result=Result.FAILURE,
                details={"reason": reason},
            )
    if not fresh:
        if check.outcome == phone_codes.Outcome.STOPPED or tries >= settings.PHONE_CODE_MAX_TRIES:
            raise _codes_stopped()
        raise _wrong_code()
    cache.delete(key)
    flow.code_ok_at = time.time()
    flow.issued_at = check.issued_at.isoformat() if check.issued_at else ""
    _save_flow(request, flow)


def use_password_reset_link(*, request: HttpRequest, token: str) -> bool:
    """The link in the reset email: like typing its code, in this browser. False if it does not work."""
    _take_check(request=request, user=None)
    with transaction.atomic():
        row = phone_codes.use_link(purpose=VerificationPurpose.PASSWORD_RESET, token=token)
        if row is None:
            return False
        user = row.user
        if user is None:  # a code row of no account (a recovery request's contact address)
            return False
        ok = user.is_active and user.closed_at is None and _still_fresh(user, row.issued_at)
        if not ok:
            record_event(
                "account:password:reset:code_failure",
                user=user,
                request=request,
                result=Result.FAILURE,
                details={"reason": "superseded", "link": True},
            )
    if not ok:
        return False
    now = time.time()
    flow = selectors.ResetFlow(
        email=row.target.lower(),
        user_id=user.pk,
        started_at=now,
        target=row.target,
        code_ok_at=now,
        issued_at=row.issued_at.isoformat(),
    )
    _save_flow(request, flow)
    return True


def _needs_second_method(user: Any) -> bool:
    """Two-step verification is on, or the person's organisation wants two methods for a reset."""
    return two_step_required(user) or policies.reset_methods_required(user) >= 2


def reset_needs_second_step(flow: selectors.ResetFlow) -> bool:
    """Whether the reset must also see a second method (see ``_needs_second_method``)."""
    user = _flow_user(flow)
    return user is not None and _needs_second_method(user)


def reset_user(flow: selectors.ResetFlow) -> User | None:
    """The account a reset whose code was right is for; None before that."""
    return _flow_user(flow) if flow.code_ok_at else None


def _proven_user(flow: selectors.ResetFlow) -> User:
    user = _flow_user(flow) if flow.code_ok_at else None
    if user is None:
        raise ResetRefused(gettext("Start again: your reset has ended."), code="no_reset")
    return user


def send_reset_second_step_text(
    *, request: HttpRequest, flow: selectors.ResetFlow, option: SecondStepOption
) -> None:
    """Text a code to a phone method of the account other than the one the reset code went to."""
    user = _proven_user(flow)
    method = option.method
    if (
        option.kind != MethodKind.TEXT_MESSAGE
        or method is None
        or method.phone is None
        or method.user_id != user.pk
        or method.phone.number == flow.target
    ):
        raise ResetRefused(gettext("That way of proving it's you is not available."), code="not_found")
    number = method.phone.number
    purpose = VerificationPurpose.RESET_SECOND_STEP
    wait = phone_codes.send_wait(user=user, number=number, ip=context_of(request).ip)
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step="second_step_send")
    try:
        with transaction.atomic():
            code = phone_codes.issue_code(
                user=user, purpose=purpose, target=number, flow=phone_codes.flow_of(request)
            )
            record_event(
                "account:password:reset:code_sent",
                user=user,
                request=request,
                method=MethodKind.TEXT_MESSAGE,
                details={"number": masked_number(number), "step": "second_step"},
            )
            with translation.override(user.locale):
                body = gettext(
                    "%(code)s is your Threshold code to confirm a password reset. It expires in %(minutes)d minutes. "
                    "Never share it: Threshold will never ask you for it."
                ) % {"code": code, "minutes": phone_codes.code_ttl(purpose=purpose, target=number) // 60}
            queue_text(to=number, body=phone_codes.origin_bound(body, code))
    except phone_codes.CodesStopped as exc:
        raise _codes_stopped() from exc
    except SmsDeliveryError as exc:
        raise ResetRefused(
            gettext("The text message could not be sent. Try again, or choose another way."), code="not_sent"
        ) from exc


def verify_reset_second_step(
    *,
    request: HttpRequest,
    flow: selectors.ResetFlow,
    option: SecondStepOption,
    code: str = "",
    credential: Any = None,
) -> None:
    """When two-step verification is on: one more method besides the reset code.

    The same checks as the second step at sign-in (threshold.security), with the same
    per-account limit on wrong answers, recorded as reset events.
    """
    user = _proven_user(flow)
    wait = security_throttle.begin_second_step(user)
    if wait:
        raise _reset_throttled(request=request, user=user, wait=wait, step="second_step")
    refusal = gettext("That didn't work. Check it and try again, or choose another way.")
    ok = False
    if option.kind == "recovery_code":
        # Quiet: the reset's own alert, to every verified address, says what was done.
        spent = use_recovery_code(user=user, request=request, code=code, quiet=True)
        ok = spent is not None
    elif option.kind == MethodKind.PASSKEY:
        ok = _check_reset_passkey(request=request, user=user, credential=credential)
    elif (
        option.kind == MethodKind.TEXT_MESSAGE
        and option.method is not None
        and option.method.phone is not None
    ):
        number = option.method.phone.number
        # SECURITY: the phone that received the reset code cannot be the second method too.
        if number != flow.target:
            check = phone_codes.check_code(
                user=user,
                purpose=VerificationPurpose.RESET_SECOND_STEP,
                target=number,
                flow=phone_codes.flow_of(request),
                code=code,
            )
            ok = check.outcome == phone_codes.Outcome.MATCH
    elif option.kind == MethodKind.AUTHENTICATOR_APP:
        # allauth's form checks the code against the account's authenticator app and
        # refuses a code already used in its window; it is not saved, which would record
        # an MFA sign-in in this (signed-out) session.
        form = AuthenticateForm(user=user, data={"code": code})
        if form.is_valid():
            ok = True
            form.authenticator.record_usage()
            note_authenticator_used(authenticator=form.authenticator)
    if not ok:
        record_event(
            "account:password:reset:second_step:failure",
            user=user,
            request=request,
            method=option.kind,
            result=Result.FAILURE,
        )
        raise ResetRefused(refusal, code="wrong_code")
    security_throttle.clear_second_step_failures(user)
    record_event("account:password:reset:second_step", user=user, request=request, method=option.kind)
    flow.second_step = option.kind
    _save_flow(request, flow)


def _check_reset_passkey(*, request: HttpRequest, user: Any, credential: Any) -> bool:
    answer = webauthn.complete_second_step(request, user, credential)
    if answer is None:
        return False
    authenticator, response = answer
    try:
        check_passkey_counter(
            request=request, authenticator=authenticator, counter=webauthn.signature_counter(response)
        )
    except Refused:
        return False
    authenticator.record_usage()
    note_authenticator_used(authenticator=authenticator)
    return True


def complete_password_reset(*, request: HttpRequest, flow: selectors.ResetFlow, password: str) -> User:
    """Step 4: the new password. In one transaction: the password is set, every session of
    the account ends, every trusted device is forgotten, a lock is lifted, and every
    verified address is told. The person then signs in with the new password.

    Raises ``ValidationError`` for a password our rules refuse and ``ResetRefused`` when
    the reset cannot finish; either way nothing is changed.
    """
    user = _proven_user(flow)
    # SECURITY: asked again here, not only when the code was right: two-step verification
    # turned on meanwhile still needs its second method, so a reset never gets round it.
    if _needs_second_method(user) and not flow.second_step:
        raise ResetRefused(
            gettext("Prove it's you with one of your sign-in methods first."), code="second_step"
        )
    validate_password(password, user)
    issued_at = parse_datetime(flow.issued_at) if flow.issued_at else None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not _still_fresh(user, issued_at):
            raise ResetRefused(
                gettext("This reset is no longer valid because your account changed meanwhile. Start again."),
                code="superseded",
            )
        user.set_password(password)
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        ended, forgotten = note_password_reset(request=request, user=user)
        record_event(
            "account:password:reset",
            user=user,
            request=request,
            method="email_code" if flow.by_email else "text_message",
            details={
                "via": "email" if flow.by_email else "text_message",
                "second_step": flow.second_step,
                "sessions_ended": ended,
                "trusted_devices_forgotten": forgotten,
            },
        )
        from threshold.devices.services import unlock_account

        # Only a full reset gets here (the code, and a second method when 2SV is on).
        unlock_account(user=user, request=request, via="password_reset")
    sign_in_throttle.record_success(email=user.email)
    # SECURITY: this browser keeps nothing either: whoever was signed in here is signed
    # out and the reset's state is gone, so the new password is the only way back in.
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        logout(request)
    else:
        request.session.flush()
    return user


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
    """Stop a pass working; True if this call revoked it (False if it already was).

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


def staff_revoke_access_pass(
    *, access_pass: TemporaryAccessPass, operator: Any, request: HttpRequest | None
) -> bool:
    """An operator's "revoke" in the staff admin: the pass stops working, on both Recent activities."""
    with transaction.atomic():
        revoked = revoke_access_pass(access_pass=access_pass, revoked_by=operator, request=request)
        if revoked:
            record_staff_change(
                operator=operator,
                request=request,
                action="revoked",
                what=TemporaryAccessPass._meta.label_lower,
                target=str(access_pass.public_id),
                account=access_pass.user,
                account_recorded=True,  # account:access_pass:revoke, with the operator as actor
            )
    return revoked


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
    # SECURITY: the passes are read for an unknown account too (0 is no account's key), so both
    # make the same queries and take the same time.
    rows = TemporaryAccessPass.objects.filter(user_id=user.pk if user is not None else 0).only(
        "pk", "pass_hash", "expires_at", "revoked_at", "used_at", "one_time"
    )
    match = None
    for row in rows:
        if constant_time_compare(row.pass_hash, candidate) and normalized:
            match = row
    if user is None:
        raise _refuse(reason="unknown_account", user=None, email=email, request=request)
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


# --- Account recovery ------------------------------------------------------------------------------
#
# Two ways back into an account whose sign-in methods are gone:
#
# * waiting period: the person proves a verified email address AND a verified phone number
#   of the account with one-time codes; the recovery then waits THRESHOLD_RECOVERY_WAIT_DAYS
#   while every address is told and can cancel it (as can any sign-in by the owner); after
#   that the person proves both again and sets a new password.
# * reviewed: someone with nothing left asks our support team, who compare what they
#   remember with the account and approve or deny; an approval mails a completion link.
#
# Both end in ``complete_recovery_and_sign_in``.

# How long the codes work: EMAIL_CODE_TTL["recovery_email"] and ["recovery_contact"] by
# email (30 minutes), PHONE_CODE_TTL by text message (10 minutes); see accounts.codes.code_ttl.
# Once ready, a waiting-period recovery can be completed for this long, then it expires.
RECOVERY_COMPLETION_DAYS = 14
# An approved request's completion link works this long.
APPROVAL_LINK_HOURS = 48


class RecoveryRefused(Exception):
    """Nothing was done; ``message`` tells the person why and what to do."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RecoveryState:
    """Where a waiting-period recovery stands once both proofs are made."""

    recovery: AccountRecovery
    started: bool  # made just now (every address has been told)

    @property
    def ready(self) -> bool:
        return self.recovery.ready_at is not None and self.recovery.ready_at <= timezone.now()


def _normal_email(value: str) -> str:
    return value.strip().lower()


def _recovery_wait_words(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    if minutes < 120:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = -(-minutes // 60)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def _too_many_sends(wait: int) -> RecoveryRefused:
    return RecoveryRefused(
        gettext("You've asked for several codes in a short time. Wait %(wait)s, then ask for a new code.")
        % {"wait": _recovery_wait_words(wait)},
        code="throttled",
    )


def _too_many_tries(wait: int) -> RecoveryRefused:
    return RecoveryRefused(
        gettext("You've entered several wrong codes. Wait %(wait)s, then ask for a new code and try again.")
        % {"wait": _recovery_wait_words(wait)},
        code="throttled",
    )


def _recovery_wrong_code() -> RecoveryRefused:
    return RecoveryRefused(
        gettext(
            "That code isn't right, or it has expired. Check the latest message we sent, "
            "or ask for a new code."
        ),
        code="wrong",
    )


def _mail(*, template: str, to: str, context: dict[str, Any], language: str) -> bool:
    try:
        send_templated_mail(template=template, to=[to], context=context, language=language)
    except OSError:
        logger.exception("Account recovery mail %s could not be sent", template)
        return False
    return True


def _text(*, to: str, body: str) -> bool:
    try:
        queue_text(to=to, body=body)
    except SmsDeliveryError:
        logger.warning("A recovery text message was refused by the gateway", exc_info=True)
        return False
    return True


def _language(user: Any) -> str:
    return str(getattr(user, "locale", "") or settings.LANGUAGE_CODE)


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, selectors.token_hash(token)


def _url(name: str, *args: Any) -> str:
    return settings.BASE_URL + reverse(name, args=args)


# --- Proving an email address and a phone number ----------------------------------------------------


def send_recovery_email_code(*, account_email: str, address: str, request: HttpRequest | None) -> None:
    """Queue the mailing of a code to ``address`` if it is a verified address of the account
    ``account_email`` (decided by the worker, ``sending.send_recovery_email_code``).

    SECURITY: the caller answers "if this is on your account, we've sent a code" whatever
    happens here, and this request does the same work for any address (the limits, one task
    queued): an unknown account, or an address that is not the account's, gives a task that
    sends nothing, so the page cannot be used to learn which accounts exist or which
    addresses they have, neither by its answer nor by its timing.
    """
    account_email, address = _normal_email(account_email), _normal_email(address)
    code_flow = flow_of(request)  # before anything depends on the account
    wait = recovery_throttle.send_wait(account=account_email, target=address, ip=context_of(request).ip)
    if wait:
        raise _too_many_sends(wait)
    tasks.send_recovery_email_code.enqueue(account_email=account_email, address=address, flow=code_flow)


def send_recovery_phone_code(*, account_email: str, number: str, request: HttpRequest | None) -> None:
    """Queue the texting of a code to ``number`` (E.164) if it is a verified number of the account.

    SECURITY: as for the email code, the same answer, the same limits and the same work whether
    or not the number is on the account. The number's own limits (``accounts.codes.send_wait``,
    shared with every other text message) are counted for the account email typed, known or not.
    """
    account_email = _normal_email(account_email)
    code_flow = flow_of(request)  # before anything depends on the account
    ip = context_of(request).ip
    wait = recovery_throttle.send_wait(account=account_email, target=number, ip=ip)
    owner = SimpleNamespace(pk=f"recovery-{digest(account_email)}")
    wait = max(wait, send_wait(user=owner, number=number, ip=ip))
    if wait:
        raise _too_many_sends(wait)
    tasks.send_recovery_phone_code.enqueue(account_email=account_email, number=number, flow=code_flow)


def check_recovery_code(
    *, account_email: str, purpose: str, target: str, code: str, request: HttpRequest | None
) -> None:
    """Raise ``RecoveryRefused`` unless ``code`` is the current code for ``target`` on the account.

    ``purpose`` is ``VerificationPurpose.RECOVERY_EMAIL`` or ``RECOVERY_PHONE``. The code is
    used up when it matches. SECURITY: five tries per address or number, counted for
    unknown accounts too, and one wording for every refusal (wrong, expired, used, never
    sent), so neither the answer nor the number of tries tells whether anything was sent.
    """
    if purpose not in (VerificationPurpose.RECOVERY_EMAIL, VerificationPurpose.RECOVERY_PHONE):
        raise ValueError(purpose)
    account_email = _normal_email(account_email)
    target = _normal_email(target) if purpose == VerificationPurpose.RECOVERY_EMAIL else target
    wait = recovery_throttle.try_wait(
        purpose=purpose, account=account_email, target=target, ip=context_of(request).ip
    )
    if wait:
        raise _too_many_tries(wait)
    user = selectors.recovery_account(account_email)
    if user is None:
        raise _recovery_wrong_code()
    with transaction.atomic():
        check = check_code(user=user, purpose=purpose, target=target, flow=flow_of(request), code=code)
    if check.outcome != Outcome.MATCH:
        raise _recovery_wrong_code()


def submit_recovery_proofs(
    *, account_email: str, email: str, phone: str, request: HttpRequest | None
) -> RecoveryState:
    """Both codes matched: start the waiting period, or say where the open recovery stands.

    The caller has checked both codes in this session (``check_recovery_code``). SECURITY:
    only one waiting-period recovery per account is open at a time (a unique constraint
    under the account's row lock); starting one tells every verified address at once, by
    mail and by text message, with a link to cancel it.
    """
    user = selectors.recovery_account(account_email)
    if (
        user is None
        or not selectors.has_verified_email(user, email)
        or not selectors.has_verified_phone(user, phone)
    ):
        raise _recovery_wrong_code()
    policies.require(user, Action.ACCOUNT_RECOVER, request=request)
    now = timezone.now()
    ctx = context_of(request)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = selectors.open_waiting_recovery(user)
        if existing is not None:
            if existing.expires_at is not None and existing.expires_at <= now:
                _expire(existing, now=now)
            else:
                # The "ready" notice still goes to the address proved first: a second
                # prover cannot redirect it.
                return RecoveryState(recovery=existing, started=False)
        token, token_digest = _new_token()
        ready_at = now + timedelta(days=settings.RECOVERY_WAIT_DAYS)
        recovery = AccountRecovery.objects.create(
            user=user,
            kind=RecoveryKind.WAITING_PERIOD,
            status=RecoveryStatus.WAITING,
            account_email=_normal_email(account_email),
            proven_email=_normal_email(email),
            proven_phone=phone,
            requested_at=now,
            request_ip=ctx.ip or None,
            request_country=ctx.country,
            language=translation.get_language() or "",
            ready_at=ready_at,
            expires_at=ready_at + timedelta(days=RECOVERY_COMPLETION_DAYS),
            cancel_token_hash=token_digest,
        )
        record_event(
            "account:recovery:start",
            user=user,
            request=request,
            details={
                "recovery": str(recovery.public_id),
                "ready_at": ready_at.isoformat(),
                "kind": recovery.kind,
            },
        )
        recovery_id = recovery.pk
        transaction.on_commit(lambda: _tell_recovery_started(recovery_id=recovery_id, cancel_token=token))
    return RecoveryState(recovery=recovery, started=True)


def _tell_every_address(*, user: Any, template: str, context: dict[str, Any], sms: str) -> int:
    """Mail every verified address and text every verified phone number; returns how many were told."""
    from threshold.accounts.selectors import verified_emails

    told = 0
    language = _language(user)
    for address in verified_emails(user):
        told += int(_mail(template=template, to=address, context=context, language=language))
    for number in selectors.verified_phones(user):
        told += int(_text(to=number, body=sms))
    return told


def _tell_recovery_started(*, recovery_id: int, cancel_token: str) -> int:
    recovery = AccountRecovery.objects.select_related("user").get(pk=recovery_id)
    user = recovery.user
    if user is None:
        return 0
    cancel_url = _url("recover_cancel_link", cancel_token)
    with translation.override(_language(user)):
        ready = (
            formats.date_format(timezone.localtime(recovery.ready_at), "DATE_FORMAT")
            if recovery.ready_at
            else ""
        )
        sentence = gettext(
            "Someone proved an email address and a phone number of your account and asked to recover it "
            "without its sign-in methods. Unless it is cancelled, they can set a new password and sign in "
            "from %(date)s."
        ) % {"date": ready}
        sms = gettext(
            "Threshold: someone asked to recover your account. If it wasn't you, cancel it: %(url)s"
        ) % {"url": cancel_url}
    return _tell_every_address(
        user=user,
        template="recovery/email/recovery_notice",
        context={
            "name": user.get_short_name(),
            "sentence": sentence,
            "cancel_url": cancel_url,
            "recovery": recovery,
        },
        sms=sms,
    )


# --- Cancelling -------------------------------------------------------------------------------------


def cancel_account_recovery(
    *, recovery: AccountRecovery, request: HttpRequest | None, by: CancelledBy
) -> bool:
    """Cancel an open recovery; False if it was no longer open. Every address is told.

    Recorded with how it was cancelled (the link, a sign-in, another recovery completed).
    """
    now = timezone.now()
    with transaction.atomic():
        cancelled = AccountRecovery.objects.filter(pk=recovery.pk, status__in=OPEN_STATUSES).update(
            status=RecoveryStatus.CANCELLED,
            cancelled_at=now,
            cancelled_by=by,
            cancel_token_hash="",
            filed_cancel_token_hash="",
            completion_token_hash="",
        )
        if not cancelled:
            return False
        recovery.status, recovery.cancelled_at, recovery.cancelled_by = RecoveryStatus.CANCELLED, now, by
        user = recovery.user
        if user is not None:
            record_event(
                "account:recovery:cancel",
                user=user,
                request=request,
                quiet=by == CancelledBy.SUPERSEDED,  # the completion's own alert says it
                details={
                    "recovery": str(recovery.public_id),
                    "via": str(by),
                    "by_sign_in": by == CancelledBy.SIGN_IN,
                },
            )
            if by != CancelledBy.SUPERSEDED:
                user_id = user.pk
                transaction.on_commit(lambda: _text_every_phone(user_id=user_id, what="cancelled"))
    return True


def cancel_recoveries_after_sign_in(*, user: Any, request: HttpRequest | None) -> int:
    """A full sign-in to the account cancels its open recoveries: the owner still has their methods.

    SECURITY: whoever started a recovery cannot sign in (or they would not need one); a
    sign-in with the password and second step means the owner is here, so a recovery
    they did not ask for stops now. Returns how many were cancelled.
    """
    open_ones = list(
        AccountRecovery.objects.select_related("user").filter(user=user, status__in=OPEN_STATUSES)
    )
    return sum(
        int(cancel_account_recovery(recovery=r, request=request, by=CancelledBy.SIGN_IN)) for r in open_ones
    )


def _text_every_phone(*, user_id: int, what: str) -> int:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    with translation.override(_language(user)):
        if what == "cancelled":
            body = gettext(
                "Threshold: a recovery of your account was cancelled. No one can use it to get in."
            )
        else:
            body = gettext(
                "Threshold: your account was recovered and a new password was set. If this wasn't you, "
                "reset your password at %(url)s"
            ) % {"url": _url("account_reset_password")}
    return sum(int(_text(to=number, body=body)) for number in selectors.verified_phones(user))


# --- The end of the wait ---------------------------------------------------------------------------


def _expire(recovery: AccountRecovery, *, now: datetime) -> bool:
    expired = AccountRecovery.objects.filter(pk=recovery.pk, status__in=OPEN_STATUSES).update(
        status=RecoveryStatus.EXPIRED,
        completion_token_hash="",
        cancel_token_hash="",
        filed_cancel_token_hash="",
    )
    if expired and recovery.user_id is not None:
        record_event(
            "account:recovery:expire",
            user=recovery.user,
            details={"recovery": str(recovery.public_id), "kind": recovery.kind},
        )
    return bool(expired)


def mark_due_recoveries_ready(*, now: datetime | None = None) -> tuple[int, int]:
    """Mark every waiting-period recovery whose wait is over ready, and mail its "ready" notice
    to the address the person proved; expire open recoveries past their end.

    Returns (made ready, expired). Idempotent: each row is taken under a row lock with its
    condition checked again, so a second run, or one beside this one, skips what is done.
    """
    now = now or timezone.now()
    readied = expired = 0
    due = AccountRecovery.objects.filter(
        kind=RecoveryKind.WAITING_PERIOD, status=RecoveryStatus.WAITING, ready_at__lte=now, expires_at__gt=now
    ).order_by("ready_at", "pk")
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            recovery = (
                AccountRecovery.objects.select_for_update()
                .filter(pk=pk, status=RecoveryStatus.WAITING, ready_at__lte=now)
                .first()
            )
            if recovery is None:
                continue
            token, token_digest = _new_token()
            AccountRecovery.objects.filter(pk=pk).update(
                status=RecoveryStatus.READY, completion_token_hash=token_digest, ready_notice_sent_at=now
            )
            record_event(
                "account:recovery:ready",
                user=recovery.user,
                details={"recovery": str(recovery.public_id), "kind": recovery.kind},
            )
            transaction.on_commit(partial(_mail_ready_notice, recovery_id=pk, token=token))
            readied += 1
    overdue = AccountRecovery.objects.filter(status__in=OPEN_STATUSES, expires_at__lte=now).select_related(
        "user"
    )
    for recovery in list(overdue):
        with transaction.atomic():
            expired += int(_expire(recovery, now=now))
    return readied, expired


def _mail_ready_notice(*, recovery_id: int, token: str) -> bool:
    recovery = AccountRecovery.objects.select_related("user").get(pk=recovery_id)
    if recovery.user is None or not recovery.proven_email:
        return False
    return _mail(
        template="recovery/email/recovery_ready",
        to=recovery.proven_email,
        context={
            "name": recovery.user.get_short_name(),
            "continue_url": _url("recover_continue_link", token),
            "expires_at": recovery.expires_at,
            "time_zone": recovery.user.time_zone or "UTC",
        },
        language=_language(recovery.user),
    )


# --- Completing: a new password, signed in --------------------------------------------------------


def complete_account_recovery(
    *, recovery: AccountRecovery, request: HttpRequest | None, password: str
) -> Any:
    """Set the new password and close the recovery; returns the account.

    Every session of the account ends and every trusted device will be asked for the
    second step again: whoever held the lost methods, or took them, keeps no way in. A
    lock set with "Lock my account" is lifted (recovering is how the owner gets back).
    Other open recoveries of the account are closed. SECURITY: refused before the wait is
    over, after cancellation or expiry, and for a reviewed request not approved; the
    row lock and conditional update mean a recovery completes at most once.
    """
    from threshold.devices.services import unlock_account

    now = timezone.now()
    with transaction.atomic():
        row = AccountRecovery.objects.select_for_update().filter(pk=recovery.pk).first()
        if row is None or row.user_id is None:
            raise RecoveryRefused(gettext("This recovery can't be completed."), code="not_found")
        if row.status not in OPEN_STATUSES or (row.expires_at is not None and row.expires_at <= now):
            raise RecoveryRefused(
                gettext("This recovery was cancelled or has ended. You can start a new one."), code="closed"
            )
        if (
            row.ready_at is None
            or row.ready_at > now
            or (row.kind == RecoveryKind.REVIEWED and row.status != RecoveryStatus.READY)
        ):
            raise RecoveryRefused(gettext("This recovery isn't ready yet."), code="not_ready")
        user = User.objects.select_for_update().get(pk=row.user_id)
        AccountRecovery.objects.filter(pk=row.pk).update(
            status=RecoveryStatus.COMPLETED,
            completed_at=now,
            completion_token_hash="",
            cancel_token_hash="",
            filed_cancel_token_hash="",
        )
        sessions = UserSession.objects.filter(user=user).count()
        user.set_password(password)
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        note_password_reset(request=None, user=user)  # ends every session, forgets trusted devices
        unlock_account(user=user, request=request, via="account_recovery")
        for other in AccountRecovery.objects.select_related("user").filter(
            user=user, status__in=OPEN_STATUSES
        ):
            cancel_account_recovery(recovery=other, request=request, by=CancelledBy.SUPERSEDED)
        record_event(
            "account:recovery:complete",
            user=user,
            request=request,
            details={"recovery": str(row.public_id), "kind": row.kind, "sessions_ended": sessions},
        )
        user_id = user.pk
        transaction.on_commit(lambda: _text_every_phone(user_id=user_id, what="completed"))
    recovery.status = RecoveryStatus.COMPLETED
    return user


def sign_in_after_recovery(
    *, request: HttpRequest, user: Any, password: str, redirect_url: str
) -> HttpResponse | None:
    """Sign the person in with the password they just set, through allauth's own sign-in.

    allauth's ``LoginForm.login`` is its public way to sign someone in with a password:
    the same throttling, signals, device and activity records as a sign-in on the page,
    and a recorded authentication, so the session counts as a fresh sign-in and can
    remove the lost methods at once. The second step is skipped for this one sign-in, as
    for a Temporary Access Pass: the recovery is the proof, and the methods are what was
    lost. The session is then marked as made by a recovery (the key the cooling-off rule
    reads). Returns allauth's response, or None when the sign-in did not happen (then the
    person signs in as usual).
    """
    from threshold.accounts.allauth_forms import LoginForm

    # SECURITY: the mark that lets this one sign-in skip the second step lives on the
    # request only, never in the session, so nothing of it can outlast this request.
    setattr(request, SIGN_IN_PROVEN_BY, selectors.ACCOUNT_RECOVERY)
    try:
        form = LoginForm(data={"login": user.email, "password": password}, request=request)
        response = form.login(request, redirect_url=redirect_url) if form.is_valid() else None
    finally:
        delattr(request, SIGN_IN_PROVEN_BY)
    if response is None or not request.user.is_authenticated or request.user.pk != user.pk:
        return None
    request.session[selectors.RESET_BY_SESSION_KEY] = selectors.ACCOUNT_RECOVERY
    return response  # type: ignore[no-any-return]


def complete_recovery_and_sign_in(
    *, recovery: AccountRecovery, request: HttpRequest, password: str, redirect_url: str
) -> HttpResponse | None:
    """The shared end of every recovery: new password, every other session ended, signed in.

    Raises ``RecoveryRefused`` when the recovery cannot be completed (nothing changes);
    returns None when it was completed but the sign-in did not happen.
    """
    user = complete_account_recovery(recovery=recovery, request=request, password=password)
    return sign_in_after_recovery(request=request, user=user, password=password, redirect_url=redirect_url)


# --- A request reviewed by our support team -------------------------------------------------------


def send_contact_code(*, contact_email: str, request: HttpRequest | None) -> None:
    """Mail a code to the contact address of a request for review, before it is queued.

    SECURITY: no unproved address reaches the queue (or receives the decision), and the
    sending is limited per contact address and per client address; the account named is
    not looked at here at all.
    """
    contact = _normal_email(contact_email)
    wait = recovery_throttle.request_wait(contact=contact, ip=context_of(request).ip)
    if wait:
        raise _too_many_sends(wait)
    try:
        with transaction.atomic():
            code = issue_code(
                user=None, purpose=VerificationPurpose.RECOVERY_CONTACT, target=contact, flow=flow_of(request)
            )
    except CodesStopped as exc:
        raise _too_many_tries(max(60, int((exc.until - timezone.now()).total_seconds()))) from exc
    _mail(
        template="recovery/email/recovery_code",
        to=contact,
        context={
            "code": code,
            "minutes": code_minutes(VerificationPurpose.RECOVERY_CONTACT),
            "purpose": "contact",
        },
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def queue_recovery_request(
    *, account_email: str, contact_email: str, claims: dict[str, str], code: str, request: HttpRequest | None
) -> AccountRecovery:
    """Check the contact address's code and put the request in the operators' queue.

    SECURITY: a request naming no account is kept too (with no user), and the person is
    told exactly the same, so the form says nothing about which accounts exist. A request
    naming an account tells every verified address of it at once (mail and text message,
    after the commit), with a link to cancel it, so the owner hears of it before any decision.
    """
    contact = _normal_email(contact_email)
    account_email = _normal_email(account_email)
    wait = recovery_throttle.try_wait(
        purpose="contact", account=contact, target=contact, ip=context_of(request).ip
    )
    if wait:
        raise _too_many_tries(wait)
    ctx = context_of(request)
    with transaction.atomic():
        check = check_code(
            user=None,
            purpose=VerificationPurpose.RECOVERY_CONTACT,
            target=contact,
            flow=flow_of(request),
            code=code,
        )
        if check.outcome == Outcome.MATCH:
            user = selectors.recovery_account(account_email)
            cancel_token, cancel_digest = _new_token()
            recovery = AccountRecovery.objects.create(
                user=user,
                kind=RecoveryKind.REVIEWED,
                status=RecoveryStatus.WAITING,
                account_email=account_email,
                contact_email=contact,
                claims={k: str(v)[:2000] for k, v in claims.items() if v},
                request_ip=ctx.ip or None,
                request_country=ctx.country,
                language=translation.get_language() or "",
                filed_cancel_token_hash=cancel_digest if user is not None else "",
            )
            record_event(
                "account:recovery:request",
                user=user,
                request=request,
                subject_label=account_email,
                details={"recovery": str(recovery.public_id), "kind": recovery.kind},
            )
            recovery_id = recovery.pk
            transaction.on_commit(
                partial(_mail_contact, recovery_id=recovery_id, template="request_received")
            )
            if user is not None:
                transaction.on_commit(
                    partial(_tell_request_filed, recovery_id=recovery_id, cancel_token=cancel_token)
                )
            return recovery
    raise _recovery_wrong_code()


def _tell_request_filed(*, recovery_id: int, cancel_token: str) -> int:
    recovery = AccountRecovery.objects.select_related("user").get(pk=recovery_id)
    user = recovery.user
    if user is None:
        return 0
    cancel_url = _url("recover_cancel_link", cancel_token)
    with translation.override(_language(user)):
        sentence = gettext(
            "Someone asked our support team to recover your account without its sign-in methods, "
            "from an address that isn't on your account. If the team approves the request, that "
            "address gets a link to set a new password."
        )
        sms = gettext(
            "Threshold: someone asked our support team to recover your account. If it wasn't you, "
            "cancel it: %(url)s"
        ) % {"url": cancel_url}
    return _tell_every_address(
        user=user,
        template="recovery/email/recovery_notice",
        context={
            "name": user.get_short_name(),
            "sentence": sentence,
            "cancel_url": cancel_url,
            "recovery": recovery,
        },
        sms=sms,
    )


def _mail_contact(*, recovery_id: int, template: str, token: str = "") -> bool:
    recovery = AccountRecovery.objects.get(pk=recovery_id)
    context: dict[str, Any] = {
        "account_email": recovery.account_email,
        "note": recovery.note,
        "password_reset_url": _url("account_reset_password"),
        "request_url": _url("recover_request"),
        "hours": APPROVAL_LINK_HOURS,
    }
    if token:
        context["complete_url"] = _url("recover_complete_link", token)
    return _mail(
        template=f"recovery/email/{template}",
        to=recovery.contact_email,
        context=context,
        language=recovery.language or settings.LANGUAGE_CODE,
    )


def decide_recovery_request(
    *, recovery: AccountRecovery, staff_user: Any, approve: bool, note: str, request: HttpRequest | None
) -> AccountRecovery:
    """An operator's decision on a reviewed request, recorded and mailed to the contact address.

    Approval tells every verified address of the account at once (mail and text message,
    with a link to cancel) and mails the contact address a single-use completion link that
    works for 48 hours. Denial mails a calm note of what they can do. SECURITY: only staff
    decide, each request once (row lock); a request naming no account cannot be approved.
    """
    if not getattr(staff_user, "is_staff", False) or not getattr(staff_user, "is_active", False):
        raise PermissionDenied
    now = timezone.now()
    note = note.strip()[:2000]
    with transaction.atomic():
        row = AccountRecovery.objects.select_for_update().filter(pk=recovery.pk).first()
        if (
            row is None
            or row.kind != RecoveryKind.REVIEWED
            or row.status != RecoveryStatus.WAITING
            or row.decision
        ):
            raise RecoveryRefused(gettext("This request has already been decided or closed."), code="decided")
        if approve and row.user is None:
            raise RecoveryRefused(
                gettext("No account has this email address, so there is nothing to recover."),
                code="no_account",
            )
        changes: dict[str, Any] = {"decided_by": staff_user, "decided_at": now, "note": note}
        details = {"recovery": str(row.public_id), "kind": row.kind}
        if approve:
            token, token_digest = _new_token()
            cancel_token, cancel_digest = _new_token()
            changes.update(
                decision=Decision.APPROVED,
                status=RecoveryStatus.READY,
                ready_at=now,
                expires_at=now + timedelta(hours=APPROVAL_LINK_HOURS),
                completion_token_hash=token_digest,
                cancel_token_hash=cancel_digest,
            )
        else:
            changes.update(decision=Decision.DENIED, status=RecoveryStatus.DENIED, filed_cancel_token_hash="")
        for field, value in changes.items():
            setattr(row, field, value)
        row.save(update_fields=list(changes))
        record_event(
            "account:recovery:approve" if approve else "account:recovery:deny",
            user=row.user,
            request=request,
            actor=staff_user,
            subject_label=row.account_email,
            details=details,
        )
        record_staff_change(
            operator=staff_user,
            request=request,
            action="approved" if approve else "denied",
            what=AccountRecovery._meta.label_lower,
            target=str(row.public_id),
            account=row.user,
            account_recorded=True,  # the event above, with the operator as actor
        )
        row_id = row.pk
        if approve:
            transaction.on_commit(
                partial(_mail_contact, recovery_id=row_id, template="request_approved", token=token)
            )
            transaction.on_commit(
                partial(_tell_request_approved, recovery_id=row_id, cancel_token=cancel_token)
            )
        else:
            transaction.on_commit(partial(_mail_contact, recovery_id=row_id, template="request_denied"))
    recovery.status, recovery.decision = row.status, row.decision
    return row


def _tell_request_approved(*, recovery_id: int, cancel_token: str) -> int:
    recovery = AccountRecovery.objects.select_related("user").get(pk=recovery_id)
    user = recovery.user
    if user is None:
        return 0
    cancel_url = _url("recover_cancel_link", cancel_token)
    with translation.override(_language(user)):
        sentence = gettext(
            "Our support team approved a request to recover your account from someone who could no longer "
            "sign in. They have been sent a link to set a new password, which works for %(hours)d hours."
        ) % {"hours": APPROVAL_LINK_HOURS}
        sms = gettext(
            "Threshold: a request to recover your account was approved. If it wasn't you, cancel it: %(url)s"
        ) % {"url": cancel_url}
    return _tell_every_address(
        user=user,
        template="recovery/email/recovery_notice",
        context={
            "name": user.get_short_name(),
            "sentence": sentence,
            "cancel_url": cancel_url,
            "recovery": recovery,
        },
        sms=sms,
    )
