""" "Can't sign in?" and resetting a forgotten password."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from threshold.accounts import codes as phone_codes
from threshold.accounts.models import VerificationPurpose
from threshold.accounts.phones import display_phone_number
from threshold.recovery.forms.password_reset import (
    NewPasswordForm,
    ResetCodeForm,
    ResetSendForm,
    ResetStartForm,
)
from threshold.recovery.selectors.password_reset import (
    RESET_LINK_PURPOSE,
    RESET_SESSION_KEY,
    ResetFlow,
    recovery_ways,
    reset_flow,
    reset_second_step_options,
)
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
from threshold.security.second_method import second_method_page
from threshold.verification.links import consume_link_token, link_landing, link_page, link_token


def _start_again(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("Your password reset has ended. Start again: it takes a minute."))
    return redirect("recover_password")


@link_page
@require_GET
def recover(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/recover.html", {"ways": recovery_ways()})


@link_page
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


@link_page
@require_http_methods(["GET", "POST"])
def reset_send(request: HttpRequest) -> HttpResponse:
    flow = reset_flow(request)
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


def _after_code(flow: ResetFlow) -> HttpResponse:
    if reset_needs_second_step(flow):
        return redirect("recover_password_verify")
    return redirect("recover_password_new")


def _shown_target(flow: ResetFlow) -> str:
    return flow.target if flow.by_email else display_phone_number(flow.target)


@link_page
@require_http_methods(["GET", "POST"])
def reset_code(request: HttpRequest) -> HttpResponse:
    flow = reset_flow(request)
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


reset_link_token = link_landing(RESET_LINK_PURPOSE, to="recover_password_link")


@link_page
@require_http_methods(["GET", "POST"])
def reset_link(request: HttpRequest) -> HttpResponse:
    if not link_token(request, RESET_LINK_PURPOSE):
        return _start_again(request)
    if request.method == "POST":
        token = consume_link_token(request, RESET_LINK_PURPOSE)
        try:
            used = use_password_reset_link(request=request, token=token)
        except ResetRefused as exc:
            messages.error(request, exc.message)
            return redirect("recover_password")
        flow = reset_flow(request)
        if not used or flow is None:
            messages.error(
                request, _("This link no longer works: it was used already, or it expired. Start again.")
            )
            return redirect("recover_password")
        return _after_code(flow)
    return render(request, "recovery/password_reset_link.html")


@link_page
@require_http_methods(["GET", "POST"])
def reset_verify(request: HttpRequest) -> HttpResponseBase:
    flow = reset_flow(request)
    user = reset_user(flow) if flow is not None else None
    if flow is None or user is None:
        return _start_again(request)
    if not reset_needs_second_step(flow) or flow.second_step:
        return redirect("recover_password_new")
    options = reset_second_step_options(user, flow)
    if not options:
        # SECURITY: fail closed: with no second method to ask for, the reset cannot finish here.
        messages.error(
            request,
            _("Your account needs a second method to reset its password, and none can be used here."),
        )
        return redirect("recover")
    return second_method_page(
        request,
        user=user,
        options=options,
        page_url=reverse("recover_password_verify"),
        template="recovery/password_reset_verify.html",
        send_code=lambda option, method: send_reset_second_step_text(
            request=request, flow=flow, option=option
        ),
        verify=lambda option, code, credential: verify_reset_second_step(
            request=request, flow=flow, option=option, code=code, credential=credential
        ),
        done=lambda option, form: redirect("recover_password_new"),
        no_passkey_message=_("Your browser sent no passkey. Try again, or choose another way."),
    )


@link_page
@require_http_methods(["GET", "POST"])
def reset_new_password(request: HttpRequest) -> HttpResponse:
    flow = reset_flow(request)
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
            request.session.pop(RESET_SESSION_KEY, None)
            return redirect("recover_password")
        else:
            messages.success(request, _("Your password was changed. Sign in with your new password."))
            return redirect("account_login")
    return render(
        request, "recovery/password_reset_new.html", {"form": form}, status=400 if form.errors else 200
    )
