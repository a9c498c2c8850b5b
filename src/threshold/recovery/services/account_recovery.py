"""Account recovery with a waiting period: proving an address and a number to start one."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from threshold.accounts.codes import (
    Outcome,
    check_code,
    flow_of,
    send_wait,
)
from threshold.accounts.models import User, VerificationPurpose
from threshold.activity.services import record_event
from threshold.core.context import context_of
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import tasks
from threshold.recovery.models import (
    AccountRecovery,
    RecoveryKind,
    RecoveryStatus,
)
from threshold.recovery.selectors.account_recovery import (
    has_verified_email,
    has_verified_phone,
    open_waiting_recovery,
    recovery_account,
)
from threshold.recovery.services.recovery_completion import _expire
from threshold.recovery.services.recovery_messages import (
    RECOVERY_COMPLETION_DAYS,
    RecoveryState,
    _language,
    _new_token,
    _normal_email,
    _recovery_wrong_code,
    _tell_of_recovery,
    _too_many_sends,
    _too_many_tries,
    _url,
)
from threshold.verification import throttle as recovery_throttle
from threshold.verification.hashing import digest

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
    user = recovery_account(account_email)
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
    user = recovery_account(account_email)
    if user is None or not has_verified_email(user, email) or not has_verified_phone(user, phone):
        raise _recovery_wrong_code()
    policies.require(user, Action.ACCOUNT_RECOVER, request=request)
    now = timezone.now()
    ctx = context_of(request)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = open_waiting_recovery(user)
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
    return _tell_of_recovery(user=user, recovery=recovery, sentence=sentence, sms=sms, cancel_url=cancel_url)
