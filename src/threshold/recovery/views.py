"""Privacy, closing and reopening the account, "Can't sign in?" and the password reset, the
set-up after a recovery sign-in, signing in with a Temporary Access Pass, and account
recovery. Thin: parse, call one service, answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.accounts import codes as phone_codes
from threshold.accounts.allauth_forms import SetPasswordForm
from threshold.accounts.models import VerificationPurpose
from threshold.accounts.phones import display_phone_number
from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery import selectors
from threshold.recovery.forms import (
    AccessPassSignInForm,
    AccountEmailForm,
    CloseAccountForm,
    CodeForm,
    NewPasswordForm,
    ProveEmailForm,
    ProvePhoneForm,
    RecoveryRequestForm,
    ResetCodeForm,
    ResetPasskeyForm,
    ResetSendForm,
    ResetStartForm,
)
from threshold.recovery.models import AccountRecovery, CancelledBy, RecoveryKind, RecoveryStatus
from threshold.recovery.sending import code_minutes
from threshold.recovery.services.access_pass import (
    AccessPassRefused,
    AccessPassThrottled,
    sign_in_with_access_pass,
)
from threshold.recovery.services.account_recovery import (
    check_recovery_code,
    send_recovery_email_code,
    send_recovery_phone_code,
    submit_recovery_proofs,
)
from threshold.recovery.services.closure import AlreadyClosing, close_account, reopen_account
from threshold.recovery.services.export import ExportNotFound, download_data_export, request_data_export
from threshold.recovery.services.password_reset import (
    ResetRefused,
    check_password_reset_code,
    complete_password_reset,
    reset_needs_second_step,
    reset_user,
    send_password_reset_code,
    send_reset_second_step_text,
    start_password_reset,
    use_password_reset_link,
    verify_reset_second_step,
)
from threshold.recovery.services.recovery_completion import (
    cancel_account_recovery,
    complete_recovery_and_sign_in,
)
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.recovery.services.recovery_requests import queue_recovery_request, send_contact_code
from threshold.security import selectors as security_selectors
from threshold.security import services as security_services
from threshold.security import webauthn
from threshold.security.models import MethodKind
from threshold.security.selectors import signed_in_recently
from threshold.security.views import keep_new_codes

SESSION_CLOSES_AT = "threshold.recovery.closes_at"


def _reauthenticate(request: HttpRequest, message: str = "") -> HttpResponse:
    messages.info(request, message or _("For your security, sign in again to continue."))
    return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": request.path}))


@login_required
@never_cache
@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/privacy.html", {"export": selectors.latest_export(request.user)})


@login_required
@require_POST
def export(request: HttpRequest) -> HttpResponse:
    try:
        request_data_export(user=request.user, request=request)
    except FreshSignInRequired as exc:
        messages.info(request, exc.message)
        return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": reverse("privacy")}))
    except PolicyDenied as exc:
        messages.error(request, exc.decision.sentence)
        return redirect("privacy")
    return redirect(reverse("privacy") + "#export")


@login_required
@never_cache
@require_GET
def download(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        export = download_data_export(user=request.user, request=request, public_id=public_id)
    except FreshSignInRequired as exc:
        return _reauthenticate(request, exc.message)
    except ExportNotFound:
        raise Http404 from None
    response = HttpResponse(bytes(export.content or b""), content_type="application/zip")
    name = f"threshold-data-{export.requested_at:%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest) -> HttpResponse:
    decision = policies.evaluate(request.user, Action.ACCOUNT_CLOSE)
    if not decision.allowed:
        messages.error(request, decision.sentence)  # the page's button is not drawn either
        return redirect("privacy")
    form = CloseAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            closes_at = close_account(
                user=request.user,
                request=request,
                days=form.cleaned_data["days"],
                reason=form.cleaned_data["reason"],
            )
        except FreshSignInRequired as exc:
            return _reauthenticate(request, exc.message)
        except PolicyDenied as exc:
            messages.error(request, exc.decision.sentence)
            return redirect("privacy")
        except AlreadyClosing:
            return redirect("account_reopen")
        request.session[SESSION_CLOSES_AT] = closes_at.isoformat()
        return redirect("account_closing")
    return render(
        request,
        "recovery/close.html",
        {
            "summary": selectors.closure_summary(request.user),
            "form": form,
            "fresh": signed_in_recently(request, request.user),
        },
    )


@never_cache
@require_GET
def closing(request: HttpRequest) -> HttpResponse:
    closes_at = parse_datetime(str(request.session.get(SESSION_CLOSES_AT, "")))
    return render(request, "recovery/closing.html", {"closes_at": closes_at})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def reopen(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not getattr(user, "is_closing", False):
        return redirect("overview")
    if not signed_in_recently(request, user):
        # SECURITY: the re-sign-in page would be refused to a closing account; signing in
        # again from the start is the fresh proof reopening needs.
        logout(request)
        messages.info(request, _("For your security, sign in again to reopen your account."))
        return redirect(reverse("account_login") + "?" + urlencode({"next": request.path}))
    if request.method == "POST":
        try:
            reopened = reopen_account(user=user, request=request)
        except FreshSignInRequired as exc:
            logout(request)
            messages.info(request, exc.message)
            return redirect(reverse("account_login") + "?" + urlencode({"next": request.path}))
        if reopened:
            messages.success(request, _("Your account was reopened. Welcome back."))
            return redirect("overview")
        messages.error(request, _("This account can no longer be reopened."))
        logout(request)
        return redirect("account_login")
    return render(request, "recovery/reopen.html", {"closes_at": getattr(user, "closes_at", None)})


# --- "Can't sign in?" and resetting a forgotten password ------------------------------------------


def reset_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Never cached, and never telling another site where the person came from.

    SECURITY: ``Referrer-Policy: no-referrer`` on every page of the reset, so that no
    address of it (even one that carried a secret before it was taken out) reaches a
    linked site, an image host or an analytics script.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return never_cache(wrapper)


def _start_again(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Your password reset has ended. Start again: it takes a minute."))
    return redirect("recover_password")


@reset_page
@require_GET
def recover(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/recover.html", {"ways": selectors.recovery_ways()})


@reset_page
@require_http_methods(["GET", "POST"])
def reset_start(request: HttpRequest) -> HttpResponse:
    form = ResetStartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            start_password_reset(request=request, email=form.cleaned_data["email"])
        except ResetRefused as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("recover_password_send")
    return render(
        request, "recovery/password_reset_start.html", {"form": form}, status=400 if form.errors else 200
    )


@reset_page
@require_http_methods(["GET", "POST"])
def reset_send(request: HttpRequest) -> HttpResponse:
    flow = selectors.reset_flow(request)
    if flow is None:
        return _start_again(request)
    form = ResetSendForm(
        request.POST if request.method == "POST" else None, initial={"way": "email", "email": flow.email}
    )
    if request.method == "POST" and form.is_valid():
        try:
            send_password_reset_code(request=request, flow=flow, target=form.cleaned_data["target"])
        except ResetRefused as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("recover_password_code")
    return render(
        request,
        "recovery/password_reset_send.html",
        {"form": form, "flow": flow},
        status=400 if form.errors else 200,
    )


def _after_code(flow: selectors.ResetFlow) -> HttpResponse:
    if reset_needs_second_step(flow):
        return redirect("recover_password_verify")
    return redirect("recover_password_new")


def _shown_target(flow: selectors.ResetFlow) -> str:
    return flow.target if flow.by_email else display_phone_number(flow.target)


@reset_page
@require_http_methods(["GET", "POST"])
def reset_code(request: HttpRequest) -> HttpResponse:
    flow = selectors.reset_flow(request)
    if flow is None or not flow.target:
        return _start_again(request)
    form = ResetCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            check_password_reset_code(request=request, flow=flow, code=form.cleaned_data["code"])
        except ResetRefused as exc:
            form.add_error("code", exc.message)
        else:
            return _after_code(flow)
    minutes = phone_codes.code_ttl(purpose=VerificationPurpose.PASSWORD_RESET, target=flow.target) // 60
    return render(
        request,
        "recovery/password_reset_code.html",
        {"form": form, "target": _shown_target(flow), "by_email": flow.by_email, "minutes": minutes},
        status=400 if form.errors else 200,
    )


@reset_page
@require_GET
def reset_link_token(request: HttpRequest, token: str) -> HttpResponse:
    # SECURITY: the token leaves the address at once: it is kept in this browser's session
    # and the page that uses it has a clean address, so it is not left in the history, in
    # a Referer header or in a screenshot. Using it needs a POST from that page, so a mail
    # scanner that fetches every link cannot use it up.
    request.session[selectors.RESET_LINK_SESSION_KEY] = token[:128]
    return redirect("recover_password_link")


@reset_page
@require_http_methods(["GET", "POST"])
def reset_link(request: HttpRequest) -> HttpResponse:
    token = request.session.get(selectors.RESET_LINK_SESSION_KEY)
    if not isinstance(token, str) or not token:
        return _start_again(request)
    if request.method == "POST":
        request.session.pop(selectors.RESET_LINK_SESSION_KEY, None)
        try:
            used = use_password_reset_link(request=request, token=token)
        except ResetRefused as exc:
            messages.error(request, exc.message)
            return redirect("recover_password")
        flow = selectors.reset_flow(request)
        if not used or flow is None:
            messages.error(
                request, _("This link no longer works: it was used already, or it expired. Start again.")
            )
            return redirect("recover_password")
        return _after_code(flow)
    return render(request, "recovery/password_reset_link.html")


@reset_page
@require_http_methods(["GET", "POST"])
def reset_verify(request: HttpRequest) -> HttpResponse:
    flow = selectors.reset_flow(request)
    user = reset_user(flow) if flow is not None else None
    if flow is None or user is None:
        return _start_again(request)
    if not reset_needs_second_step(flow) or flow.second_step:
        return redirect("recover_password_new")
    options = selectors.reset_second_step_options(user, flow)
    if not options:
        # SECURITY: fail closed: with no second method to ask for, the reset cannot finish here.
        messages.error(
            request,
            _("Your account needs a second method to reset its password, and none can be used here."),
        )
        return redirect("recover")
    wanted = request.POST.get("method") or request.GET.get("method") or options[0].key
    option = next((o for o in options if o.key == wanted), options[0])
    is_passkey = option.kind == MethodKind.PASSKEY
    form: ResetCodeForm | ResetPasskeyForm = ResetPasskeyForm() if is_passkey else ResetCodeForm()
    if request.method == "POST":
        if request.POST.get("action") == "send" and option.method is not None:
            try:
                send_reset_second_step_text(request=request, flow=flow, option=option)
            except ResetRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a code by text message. It expires in %(minutes)d minutes.")
                    % {"minutes": settings.PHONE_CODE_TTL // 60},
                )
            return redirect(reverse("recover_password_verify") + "?" + urlencode({"method": option.key}))
        form = ResetPasskeyForm(request.POST) if is_passkey else ResetCodeForm(request.POST)
        if form.is_valid():
            try:
                verify_reset_second_step(
                    request=request,
                    flow=flow,
                    option=option,
                    code=form.cleaned_data.get("code", ""),
                    credential=form.cleaned_data.get("credential"),
                )
            except ResetRefused as exc:
                form.add_error("code" if "code" in form.fields else None, exc.message)
            else:
                return redirect("recover_password_new")
    return render(
        request,
        "recovery/password_reset_verify.html",
        {
            "form": form,
            "option": option,
            "others": [o for o in options if o.key != option.key],
            "passkey_options": webauthn.begin_second_step(request, user) if is_passkey else None,
        },
        status=400 if form.errors else 200,
    )


@reset_page
@require_http_methods(["GET", "POST"])
def reset_new_password(request: HttpRequest) -> HttpResponse:
    flow = selectors.reset_flow(request)
    if flow is None or reset_user(flow) is None:
        return _start_again(request)
    if reset_needs_second_step(flow) and not flow.second_step:
        return redirect("recover_password_verify")
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            complete_password_reset(request=request, flow=flow, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            form.add_error("password1", exc)
        except ResetRefused as exc:
            messages.error(request, exc.message)
            request.session.pop(selectors.RESET_SESSION_KEY, None)
            return redirect("recover_password")
        else:
            messages.success(request, _("Your password was changed. Sign in with your new password."))
            return redirect("account_login")
    return render(
        request, "recovery/password_reset_new.html", {"form": form}, status=400 if form.errors else 200
    )


# --- After a recovery sign-in: a new method and new codes -----------------------------------


@login_required
@never_cache
@require_GET
def set_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    progress = selectors.set_up_progress(user)
    if progress is None:
        return redirect("security_info")
    return render(
        request,
        "recovery/set_up.html",
        {
            "progress": progress,
            "pass_until": selectors.access_pass_session_until(request),
            "kinds": security_selectors.addable_kinds(user),
            "method_kinds": MethodKind,
            "phones": security_selectors.phones_for_text_messages(user).exists(),
            "via_pass": progress.via == selectors.ACCESS_PASS,
            "has_authenticator_app": security_selectors.has_authenticator_app(user),
        },
    )


@login_required
@require_POST
def set_up_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = security_services.generate_recovery_codes(user=request.user, request=request)
    except FreshSignInRequired as exc:
        messages.info(request, exc.message)
        return redirect(
            reverse("account_reauthenticate") + "?" + urlencode({"next": reverse("recovery_set_up")})
        )
    except PolicyDenied as exc:
        messages.error(request, exc.decision.sentence)
        return redirect("recovery_set_up")
    keep_new_codes(request, codes, then=reverse("recovery_set_up"))
    return redirect("security_recovery_codes")


@login_required
@require_POST
def set_up_dismiss(request: HttpRequest) -> HttpResponse:
    request.session[selectors.SET_UP_DISMISSED_SESSION_KEY] = True
    return redirect("overview")


# --- Signing in with a Temporary Access Pass --------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def access_pass_sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("recovery_set_up" if selectors.access_pass_session_live(request) else "overview")
    form = AccessPassSignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            return sign_in_with_access_pass(
                request=request, email=form.cleaned_data["email"], code=form.cleaned_data["access_pass"]
            )
        except AccessPassThrottled as exc:
            form.add_error(
                None,
                ngettext(
                    "Too many tries with a Temporary Access Pass. Wait %(seconds)d second and try again.",
                    "Too many tries with a Temporary Access Pass. Wait %(seconds)d seconds and try again.",
                    exc.retry_after,
                )
                % {"seconds": exc.retry_after},
            )
        except AccessPassRefused:
            # SECURITY: one answer for every reason, see AccessPassRefused.
            form.add_error(
                None,
                _(
                    "That email address and pass didn't work together. Check both, or ask whoever "
                    "gave you the pass for a new one: a pass works for a limited time, and some only once."
                ),
            )
    return render(
        request, "recovery/access_pass_sign_in.html", {"form": form}, status=400 if form.errors else 200
    )


# --- Account recovery ------------------------------------------------------------------------------
#
# Signed-out pages. What the person has proved so far lives in their (server-side) session,
# bound to the account's email address they typed, and for an hour at most.

RECOVERY_FLOW = "threshold.recovery.flow"
RECOVERY_FLOW_SECONDS = 3600
CANCEL_TOKEN = "threshold.recovery.cancel_token"
CONTINUE_TOKEN = "threshold.recovery.continue_token"
COMPLETE_TOKEN = "threshold.recovery.complete_token"
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
    return selectors.recovery_by_public_id(flow["recovery"])


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


@never_cache
@require_GET
def recover_continue_link(request: HttpRequest, token: str) -> HttpResponse:
    # SECURITY: the token moves into the session and out of the address bar at once, so it
    # is not left in the browser's history or sent on in a Referer header.
    request.session[CONTINUE_TOKEN] = token
    return redirect("recover_continue")


@never_cache
@require_GET
def recover_continue(request: HttpRequest) -> HttpResponse:
    """The "ready" mail's link: the same proofs again, with the account already filled in."""
    recovery = selectors.recovery_by_completion_token(str(request.session.pop(CONTINUE_TOKEN, "")))
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


@never_cache
@require_GET
def recover_cancel_link(request: HttpRequest, token: str) -> HttpResponse:
    # SECURITY: opening the link must not cancel anything: mail scanners and link previews
    # follow every link in a message, and they would cancel the real owner's recovery (or
    # anyone's, for a link that leaks). The token moves into the session and the page asks
    # for a POST with the "Cancel this recovery" button, which only a person presses.
    request.session[CANCEL_TOKEN] = token
    return redirect("recover_cancel")


@never_cache
@require_http_methods(["GET", "POST"])
def recover_cancel(request: HttpRequest) -> HttpResponse:
    recovery = selectors.open_recovery_by_cancel_token(str(request.session.get(CANCEL_TOKEN, "")))
    if request.method == "POST" and recovery is not None:
        cancel_account_recovery(recovery=recovery, request=request, by=CancelledBy.LINK)
        request.session.pop(CANCEL_TOKEN, None)
        return render(request, "recovery/cancel.html", {"cancelled": True})
    return render(request, "recovery/cancel.html", {"recovery": recovery, "cancelled": False})


# --- A request reviewed by our support team ---------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def recover_request(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("security_info")
    form = RecoveryRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        organization = selectors.managing_organization(form.cleaned_data["account_email"])
        if organization is not None:
            return render(request, "recovery/request_managed.html", {"organization": organization})
        try:
            send_contact_code(contact_email=form.cleaned_data["contact_email"], request=request)
        except RecoveryRefused as exc:
            form.add_error(None, exc.message)
        else:
            request.session[REQUEST_DRAFT] = {
                "account_email": form.cleaned_data["account_email"],
                "contact_email": form.cleaned_data["contact_email"].strip().lower(),
                "claims": form.claims(),
                "at": time.time(),
            }
            return redirect("recover_request_confirm")
    return render(request, "recovery/request.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def recover_request_confirm(request: HttpRequest) -> HttpResponse:
    draft = request.session.get(REQUEST_DRAFT)
    if (
        not isinstance(draft, dict)
        or not 0 <= time.time() - float(draft.get("at", 0)) < RECOVERY_FLOW_SECONDS
    ):
        return redirect("recover_request")
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = CodeForm(request.POST if action == "verify" else None)
    if action == "resend":
        try:
            send_contact_code(contact_email=draft["contact_email"], request=request)
            messages.info(request, _("We've sent a new code. It replaces the one before."))
        except RecoveryRefused as exc:
            messages.error(request, exc.message)
        return redirect("recover_request_confirm")
    if action == "verify" and form.is_valid():
        try:
            queue_recovery_request(
                account_email=draft["account_email"],
                contact_email=draft["contact_email"],
                claims=draft.get("claims") or {},
                code=form.cleaned_data["code"],
                request=request,
            )
        except RecoveryRefused as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(REQUEST_DRAFT, None)
            request.session["threshold.recovery.request_sent_to"] = draft["contact_email"]
            return redirect("recover_request_sent")
    return render(
        request,
        "recovery/request_confirm.html",
        {
            "form": form,
            "contact_email": draft["contact_email"],
            "minutes": code_minutes(VerificationPurpose.RECOVERY_CONTACT),
        },
    )


@never_cache
@require_GET
def recover_request_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "recovery/request_sent.html",
        {"contact_email": request.session.get("threshold.recovery.request_sent_to", "")},
    )


@never_cache
@require_GET
def recover_complete_link(request: HttpRequest, token: str) -> HttpResponse:
    # SECURITY: as for the cancel link: into the session, out of the address bar; the
    # token is used up only by the POST that sets the new password.
    request.session[COMPLETE_TOKEN] = token
    return redirect("recover_complete")


@never_cache
@require_http_methods(["GET", "POST"])
def recover_complete(request: HttpRequest) -> HttpResponse:
    """The approval mail's single-use link: a new password, then signed in."""
    recovery = selectors.recovery_by_completion_token(str(request.session.get(COMPLETE_TOKEN, "")))
    usable = (
        recovery is not None
        and recovery.user is not None
        and recovery.kind == RecoveryKind.REVIEWED
        and recovery.status == RecoveryStatus.READY
        and recovery.expires_at is not None
        and recovery.expires_at > timezone.now()
    )
    if not usable or recovery is None:
        request.session.pop(COMPLETE_TOKEN, None)
        return render(request, "recovery/link_invalid.html", status=404)
    return _new_password_page(
        request,
        recovery,
        action=reverse("recover_complete"),
        on_success=lambda: request.session.pop(COMPLETE_TOKEN, None),
    )
