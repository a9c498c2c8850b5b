"""Account recovery with a waiting period: the signed-out pages that prove, wait, complete and cancel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from threshold.accounts.allauth_forms import SetPasswordForm
from threshold.accounts.models import VerificationPurpose
from threshold.core.errors import PolicyDenied
from threshold.recovery.forms.account_recovery import (
    AccountEmailForm,
    CodeForm,
    ProveEmailForm,
    ProvePhoneForm,
)
from threshold.recovery.models import AccountRecovery, CancelledBy, RecoveryKind
from threshold.recovery.selectors.account_recovery import (
    open_recovery_by_cancel_token,
    recovery_by_completion_token,
    recovery_by_public_id,
)
from threshold.recovery.sending import code_minutes
from threshold.recovery.services.account_recovery import (
    check_recovery_code,
    send_recovery_email_code,
    send_recovery_phone_code,
    submit_recovery_proofs,
)
from threshold.recovery.services.recovery_completion import (
    cancel_account_recovery,
    complete_recovery_and_sign_in,
)
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.verification.links import (
    consume_link_token,
    forget_link_token,
    link_landing,
    link_page,
    link_token,
)

# Signed-out pages. What the person has proved so far lives in their (server-side) session,
# bound to the account's email address they typed, and for an hour at most.

RECOVERY_FLOW = "threshold.recovery.flow"
RECOVERY_FLOW_SECONDS = 3600
CANCEL_LINK = "recovery_cancel"
CONTINUE_LINK = "recovery_continue"
COMPLETE_LINK = "recovery_complete"
REQUEST_DRAFT = "threshold.recovery.request"


def _flow(request: HttpRequest) -> dict[str, Any] | None:
    flow = request.session.get(RECOVERY_FLOW)
    if not isinstance(flow, dict) or not isinstance(flow.get("at"), int | float):
        return None
    if not 0 <= time.time() - flow["at"] < RECOVERY_FLOW_SECONDS:
        request.session.pop(RECOVERY_FLOW, None)
        return None
    return flow


def _save_flow(request: HttpRequest, flow: dict[str, Any]) -> None:
    request.session[RECOVERY_FLOW] = flow


def _start_over(request: HttpRequest, message: str = "") -> HttpResponse:
    request.session.pop(RECOVERY_FLOW, None)
    if message:
        messages.info(request, message)
    return redirect("recover_second_method")


@never_cache
@require_http_methods(["GET", "POST"])
def recover_second_method(request: HttpRequest) -> HttpResponse:
    """Step 1: which account. Nothing is looked up yet."""
    if request.user.is_authenticated:
        return redirect("security_info")
    form = AccountEmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        account = form.cleaned_data["account_email"].strip().lower()
        _save_flow(request, {"account": account, "at": time.time()})
        return redirect("recover_second_method_email")
    return render(
        request, "recovery/second_method_start.html", {"form": form, "wait_days": settings.RECOVERY_WAIT_DAYS}
    )


def _proof_step(request: HttpRequest, *, step: str) -> HttpResponse:
    """Steps 2 and 3: a verified email address, then a verified phone number, each by a code."""
    flow = _flow(request)
    if flow is None:
        return _start_over(request)
    if step == "phone" and not flow.get("email_ok"):
        return redirect("recover_second_method_email")
    if step == "email" and flow.get("email_ok"):
        return redirect("recover_second_method_phone")
    is_email = step == "email"
    purpose = VerificationPurpose.RECOVERY_EMAIL if is_email else VerificationPurpose.RECOVERY_PHONE
    target_form_class = ProveEmailForm if is_email else ProvePhoneForm
    action = request.POST.get("action", "") if request.method == "POST" else ""
    field = "address" if is_email else "number"
    target_form = target_form_class(
        request.POST if action == "send" else None, initial={field: flow.get(step, "")}
    )
    code_form = CodeForm(request.POST if action == "verify" else None)
    if action == "send" and target_form.is_valid():
        target = target_form.cleaned_data[field]
        try:
            if is_email:
                send_recovery_email_code(account_email=flow["account"], address=target, request=request)
            else:
                send_recovery_phone_code(account_email=flow["account"], number=target, request=request)
        except RecoveryRefused as exc:
            target_form.add_error(None, exc.message)
        else:
            flow[step] = target.strip().lower() if is_email else target
            flow[f"{step}_sent"] = True
            _save_flow(request, flow)
            return redirect(request.path)
    if action == "verify" and code_form.is_valid() and flow.get(f"{step}_sent"):
        try:
            check_recovery_code(
                account_email=flow["account"],
                purpose=purpose,
                target=flow[step],
                code=code_form.cleaned_data["code"],
                request=request,
            )
        except RecoveryRefused as exc:
            code_form.add_error("code", exc.message)
        else:
            flow[f"{step}_ok"] = True
            _save_flow(request, flow)
            if is_email:
                return redirect("recover_second_method_phone")
            return _after_proofs(request, flow)
    return render(
        request,
        "recovery/second_method_step.html",
        {
            "step": step,
            "flow": flow,
            "target_form": target_form,
            "code_form": code_form,
            "sent": bool(flow.get(f"{step}_sent")),
            "target": flow.get(step, ""),
            "minutes": code_minutes(purpose),
        },
    )


def _after_proofs(request: HttpRequest, flow: dict[str, Any]) -> HttpResponse:
    try:
        state = submit_recovery_proofs(
            account_email=flow["account"], email=flow["email"], phone=flow["phone"], request=request
        )
    except RecoveryRefused as exc:
        return _start_over(request, exc.message)
    except PolicyDenied as exc:
        request.session.pop(RECOVERY_FLOW, None)
        messages.error(
            request,
            exc.decision.message
            or _("Your organisation manages this account: ask your admin to help you sign in again."),
        )
        return redirect("recover_second_method")
    flow["recovery"] = str(state.recovery.public_id)
    _save_flow(request, flow)
    if state.ready:
        return redirect("recover_second_method_password")
    request.session["threshold.recovery.started"] = state.started
    return redirect("recover_second_method_waiting")


@never_cache
@require_http_methods(["GET", "POST"])
def recover_second_method_email(request: HttpRequest) -> HttpResponse:
    return _proof_step(request, step="email")


@never_cache
@require_http_methods(["GET", "POST"])
def recover_second_method_phone(request: HttpRequest) -> HttpResponse:
    return _proof_step(request, step="phone")


def _proved_recovery(request: HttpRequest) -> AccountRecovery | None:
    """The recovery this session has just proved both codes for (within the hour)."""
    flow = _flow(request)
    if flow is None or not (flow.get("email_ok") and flow.get("phone_ok") and flow.get("recovery")):
        return None
    return recovery_by_public_id(flow["recovery"])


@never_cache
@require_GET
def recover_second_method_waiting(request: HttpRequest) -> HttpResponse:
    recovery = _proved_recovery(request)
    if recovery is None:
        return _start_over(request)
    return render(
        request,
        "recovery/second_method_waiting.html",
        {
            "recovery": recovery,
            "started": request.session.get("threshold.recovery.started", False),
            "wait_days": settings.RECOVERY_WAIT_DAYS,
        },
    )


def _new_password_page(
    request: HttpRequest, recovery: AccountRecovery, *, action: str, on_success: Callable[[], None]
) -> HttpResponse:
    """The shared last page: choose a new password, then be signed in (or be told why not)."""
    user = recovery.user
    form = SetPasswordForm(user=user, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        on_success()
        try:
            response = complete_recovery_and_sign_in(
                recovery=recovery,
                request=request,
                password=form.cleaned_data["password1"],
                redirect_url=reverse("security_info"),
            )
        except RecoveryRefused as exc:
            messages.error(request, exc.message)
            return redirect("recover_second_method")
        if response is None:
            messages.success(request, _("Your account is recovered. Sign in with your new password."))
            return redirect("account_login")
        messages.success(
            request,
            _(
                "Welcome back: your account is recovered and every other session was signed out. "
                "Now remove the sign-in methods you lost and add new ones."
            ),
        )
        return response
    return render(
        request, "recovery/new_password.html", {"form": form, "action": action, "recovery": recovery}
    )


@never_cache
@require_http_methods(["GET", "POST"])
def recover_second_method_password(request: HttpRequest) -> HttpResponse:
    """Step 4, once the wait is over: a new password."""
    recovery = _proved_recovery(request)
    if recovery is None or recovery.user is None:
        return _start_over(request)
    if not recovery.is_open:
        return _start_over(request, _("This recovery was cancelled or has ended. You can start a new one."))
    if recovery.ready_at is None or recovery.ready_at > timezone.now():
        return redirect("recover_second_method_waiting")
    return _new_password_page(
        request,
        recovery,
        action=reverse("recover_second_method_password"),
        on_success=lambda: request.session.pop(RECOVERY_FLOW, None),
    )


recover_continue_link = link_landing(CONTINUE_LINK, to="recover_continue")


@link_page
@require_GET
def recover_continue(request: HttpRequest) -> HttpResponse:
    """The "ready" mail's link: the same proofs again, with the account already filled in."""
    recovery = recovery_by_completion_token(consume_link_token(request, CONTINUE_LINK))
    if recovery is None or not recovery.is_open or recovery.kind != RecoveryKind.WAITING_PERIOD:
        return _start_over(request, _("This link has expired or was already used. You can start again here."))
    _save_flow(request, {"account": recovery.account_email, "at": time.time()})
    messages.info(
        request,
        _(
            "Your recovery is ready. To finish it, prove an email address and a phone number of your account again."
        ),
    )
    return redirect("recover_second_method_email")


recover_cancel_link = link_landing(CANCEL_LINK, to="recover_cancel")


@link_page
@require_http_methods(["GET", "POST"])
def recover_cancel(request: HttpRequest) -> HttpResponse:
    recovery = open_recovery_by_cancel_token(link_token(request, CANCEL_LINK))
    if request.method == "POST" and recovery is not None:
        cancel_account_recovery(recovery=recovery, request=request, by=CancelledBy.LINK)
        forget_link_token(request, CANCEL_LINK)
        return render(request, "recovery/cancel.html", {"cancelled": True})
    return render(request, "recovery/cancel.html", {"recovery": recovery, "cancelled": False})
