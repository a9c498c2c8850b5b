"""Cancelling an account recovery, the end of its wait, and completing it: a new password, signed in."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from allauth.usersessions.models import UserSession
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext

from threshold.accounts.allauth_forms import LoginForm
from threshold.accounts.models import User
from threshold.activity.services import record_event
from threshold.devices.services import unlock_account
from threshold.recovery.models import (
    OPEN_STATUSES,
    AccountRecovery,
    CancelledBy,
    RecoveryKind,
    RecoveryStatus,
)
from threshold.recovery.selectors.account_recovery import verified_phones
from threshold.recovery.services.recovery_messages import (
    RecoveryRefused,
    _language,
    _mail,
    _new_token,
    _text,
    _url,
)
from threshold.security.services.passwords import note_password_reset
from threshold.verification.sign_in import ACCOUNT_RECOVERY, note_vouched_sign_in, proving_sign_in

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
    return sum(int(_text(to=number, body=body)) for number in verified_phones(user))


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
    # SECURITY: the mark that lets this one sign-in skip the second step lives on the
    # request only, never in the session, so nothing of it can outlast this request.
    with proving_sign_in(request, ACCOUNT_RECOVERY):
        form = LoginForm(data={"login": user.email, "password": password}, request=request)
        response = form.login(request, redirect_url=redirect_url) if form.is_valid() else None
    if response is None or not request.user.is_authenticated or request.user.pk != user.pk:
        return None
    note_vouched_sign_in(request=request, by=ACCOUNT_RECOVERY)
    return response


def complete_recovery_and_sign_in(
    *, recovery: AccountRecovery, request: HttpRequest, password: str, redirect_url: str
) -> HttpResponse | None:
    """The shared end of every recovery: new password, every other session ended, signed in.

    Raises ``RecoveryRefused`` when the recovery cannot be completed (nothing changes);
    returns None when it was completed but the sign-in did not happen.
    """
    user = complete_account_recovery(recovery=recovery, request=request, password=password)
    return sign_in_after_recovery(request=request, user=user, password=password, redirect_url=redirect_url)
