"""Account recovery reviewed by our support team: filing a request and deciding it."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext

from threshold.accounts.codes import (
    CodesStopped,
    Outcome,
    check_code,
    flow_of,
    issue_code,
)
from threshold.accounts.models import VerificationPurpose
from threshold.activity.services import record_event, record_staff_change
from threshold.core.context import context_of
from threshold.recovery.models import (
    AccountRecovery,
    Decision,
    RecoveryKind,
    RecoveryStatus,
)
from threshold.recovery.selectors.account_recovery import recovery_account
from threshold.recovery.sending import code_minutes
from threshold.recovery.services.recovery_messages import (
    APPROVAL_LINK_HOURS,
    RecoveryRefused,
    _language,
    _mail,
    _new_token,
    _normal_email,
    _recovery_wrong_code,
    _tell_of_recovery,
    _too_many_sends,
    _too_many_tries,
    _url,
)
from threshold.verification import throttle as recovery_throttle


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
            user = recovery_account(account_email)
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
    return _tell_of_recovery(user=user, recovery=recovery, sentence=sentence, sms=sms, cancel_url=cancel_url)


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
    return _tell_of_recovery(user=user, recovery=recovery, sentence=sentence, sms=sms, cancel_url=cancel_url)
