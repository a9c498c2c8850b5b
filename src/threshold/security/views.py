"""Security info and the sign-in challenge. Thin: parse, call one service, answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security import selectors, services, trust, webauthn
from threshold.security.forms import (
    CancelRemovalForm,
    ConfirmCodeForm,
    ConfirmPasskeyForm,
    PasskeyStepForm,
    RemoveMethodForm,
    RenameMethodForm,
    SecondStepForm,
    TextMessageMethodForm,
)
from threshold.security.models import MethodKind
from threshold.security.stages import TwoStepStage

NEW_CODES_SESSION_KEY = "threshold.security.new_recovery_codes"
NEW_CODES_SECONDS = 10 * 60

View = Callable[..., HttpResponseBase]


def _reauthenticate(request: HttpRequest, message: str = "") -> HttpResponse:
    messages.info(request, message or _("For your security, sign in again to continue."))
    url = reverse("account_reauthenticate") + "?" + urlencode({"next": request.path})
    return redirect(url)


def handles_refusals(view: View) -> View:
    """Turn the services' refusals into a redirect with a message the person can act on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except FreshSignInRequired as exc:
            return _reauthenticate(request, exc.message)
        except PolicyDenied as exc:
            messages.error(request, exc.decision.sentence)
            return redirect("security_info")
        except services.Refused as exc:
            messages.error(request, exc.message)
            return redirect("security_info")

    return wrapper


def _needs_fresh_sign_in(request: HttpRequest) -> bool:
    return not selectors.signed_in_recently(request, request.user)


# --- Security info --------------------------------------------------------------------


@login_required
@require_GET
def security_info(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "security/security_info.html",
        {
            "info": selectors.security_info(user),
            "two_step_off_lock": policies.evaluate(user, Action.TWO_STEP_DISABLE),
            "method_kinds": MethodKind,
            "low_codes": selectors.RECOVERY_CODES_LOW,
        },
    )


@login_required
@require_GET
def add_method(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "security/add_method.html",
        {
            "kinds": selectors.addable_kinds(user),
            "method_kinds": MethodKind,
            "phones": selectors.phones_for_text_messages(user),
            "add_lock": policies.evaluate(user, Action.METHOD_ADD),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def add_text_message(request: HttpRequest) -> HttpResponse:
    user = request.user
    if _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    form = TextMessageMethodForm(
        request.POST if request.method == "POST" else None, phones=selectors.phones_for_text_messages(user)
    )
    if request.method == "POST" and form.is_valid():
        method = services.add_text_message_method(
            user=user, request=request, phone=form.cleaned_data["phone"]
        )
        messages.success(request, _("%(number)s now receives sign-in codes.") % {"number": method.name})
        return redirect("security_info")
    return render(request, "security/add_text_message.html", {"form": form})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def remove_method(request: HttpRequest, public_id: str) -> HttpResponse:
    user = request.user
    method = selectors.method_by_public_id(user, public_id)
    if method is None:
        raise Http404
    decision = services.removal_decision(user=user, method=method)
    if decision.allowed and _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    form = RemoveMethodForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and decision.allowed and form.is_valid():
        removal = services.remove_sign_in_method(
            user=user, request=request, method=method, sign_out_others=form.cleaned_data["sign_out_others"]
        )
        if removal.scheduled is not None:
            messages.warning(
                request,
                _(
                    "“%(name)s” will be removed on %(date)s: it is the last of your older sign-in methods. "
                    "Until then it keeps working. To remove it now, confirm with one of your older methods."
                )
                % {
                    "name": method.name,
                    "date": formats.date_format(
                        timezone.localtime(removal.scheduled.effective_at), "DATE_FORMAT"
                    ),
                },
            )
        else:
            messages.success(request, _("“%(name)s” was removed.") % {"name": method.name})
        _tell_sessions_ended(request, removal.sessions_ended)
        return redirect("security_info")
    return render(
        request,
        "security/remove_method.html",
        {
            "method": method,
            "decision": decision,
            "form": form,
            "waits": decision.allowed and services.removal_waits(user=user, request=request, method=method),
            "wait_days": selectors.wait_days(),
            "window_days": settings.SECURITY_INFO_WINDOW_DAYS,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def rename_method(request: HttpRequest, public_id: str) -> HttpResponse:
    method = selectors.method_by_public_id(request.user, public_id)
    if method is None:
        raise Http404
    if _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    form = RenameMethodForm(request.POST if request.method == "POST" else None, initial={"name": method.name})
    if request.method == "POST" and form.is_valid():
        services.rename_sign_in_method(
            user=request.user, request=request, method=method, name=form.cleaned_data["name"]
        )
        messages.success(request, _("Renamed to “%(name)s”.") % {"name": method.name})
        return redirect("security_info")
    return render(request, "security/rename_method.html", {"method": method, "form": form})


@login_required
@require_POST
@handles_refusals
def make_default(request: HttpRequest, public_id: str) -> HttpResponse:
    method = selectors.method_by_public_id(request.user, public_id)
    if method is None:
        raise Http404
    services.set_default_method(user=request.user, request=request, method=method)
    messages.success(request, _("“%(name)s” is now offered first when you sign in.") % {"name": method.name})
    return redirect("security_info")


# --- A passwordless account ---------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def remove_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    decision = services.password_removal_decision(user=user)
    if decision.allowed and _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    if request.method == "POST" and decision.allowed:
        ended = services.remove_password(user=user, request=request)
        messages.success(request, _("Your password was removed. You now sign in with a passkey."))
        _tell_sessions_ended(request, ended)
        return redirect("security_info")
    return render(
        request,
        "security/remove_password.html",
        {"decision": decision, "passkeys": selectors.passwordless_passkeys(user)},
    )


# --- Two-step verification ----------------------------------------------------------------------


@login_required
@require_POST
@handles_refusals
def two_step_on(request: HttpRequest) -> HttpResponse:
    new_codes = services.enable_two_step(user=request.user, request=request)
    messages.success(request, _("Two-step verification is on."))
    if new_codes:
        keep_new_codes(request, new_codes)
        return redirect("security_recovery_codes")
    return redirect("security_info")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def two_step_off(request: HttpRequest) -> HttpResponse:
    decision = policies.evaluate(request.user, Action.TWO_STEP_DISABLE)
    if decision.allowed and _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    if request.method == "POST":
        services.disable_two_step(user=request.user, request=request)
        messages.warning(request, _("Two-step verification is off. Your password alone now lets you in."))
        return redirect("security_info")
    return render(request, "security/two_step_off.html", {"decision": decision})


# --- Recovery codes ------------------------------------------------------------------------------


def keep_new_codes(request: HttpRequest, codes: list[str], *, then: str = "") -> None:
    """Show ``codes`` once on the recovery-codes page; "I have saved my codes" leads to ``then``
    (a path of this site; Security info when empty)."""
    # SECURITY: the plain codes exist only here, in the server-side session, for ten
    # minutes or until the person says they saved them; they are never shown again.
    request.session[NEW_CODES_SESSION_KEY] = {
        "user": str(request.user.pk),
        "codes": codes,
        "at": time.time(),
        "then": then if then.startswith("/") and not then.startswith(("//", "/\\")) else "",
    }


def _new_codes(request: HttpRequest) -> list[str]:
    state = request.session.get(NEW_CODES_SESSION_KEY)
    if (
        not isinstance(state, dict)
        or state.get("user") != str(request.user.pk)
        or time.time() - float(state.get("at", 0)) > NEW_CODES_SECONDS
    ):
        request.session.pop(NEW_CODES_SESSION_KEY, None)
        return []
    return [str(code) for code in state.get("codes", [])]


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    if _needs_fresh_sign_in(request):
        return _reauthenticate(request)
    if request.method == "POST":
        keep_new_codes(request, services.generate_recovery_codes(user=request.user, request=request))
        return redirect("security_recovery_codes")
    return render(
        request, "security/recovery_codes_new.html", {"left": selectors.recovery_codes_left(request.user)}
    )


@login_required
@never_cache
@require_GET
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = _new_codes(request)
    if not codes:
        messages.info(request, _("Recovery codes are shown only once, right after they are made."))
        return redirect("security_info")
    return render(request, "security/recovery_codes.html", {"codes": codes})


@login_required
@never_cache
@require_GET
def recovery_codes_download(request: HttpRequest) -> HttpResponse:
    codes = _new_codes(request)
    if not codes:
        raise Http404
    text = render(
        request,
        "security/recovery_codes.txt",
        {"codes": codes, "made_at": timezone.now(), "base_url": settings.BASE_URL},
        content_type="text/plain; charset=utf-8",
    )
    text["Content-Disposition"] = 'attachment; filename="threshold-recovery-codes.txt"'
    return text


@login_required
@never_cache
@require_GET
def recovery_codes_print(request: HttpRequest) -> HttpResponse:
    codes = _new_codes(request)
    if not codes:
        raise Http404
    return render(request, "security/recovery_codes_print.html", {"codes": codes, "made_at": timezone.now()})


@login_required
@require_POST
def recovery_codes_done(request: HttpRequest) -> HttpResponse:
    state = request.session.pop(NEW_CODES_SESSION_KEY, None)
    then = state.get("then") if isinstance(state, dict) else ""
    return redirect(then or "security_info")


# --- Trusted devices ------------------------------------------------------------------------------


@login_required
@require_POST
def forget_trusted_devices(request: HttpRequest) -> HttpResponse:
    count = services.forget_trusted_devices(user=request.user, request=request)
    messages.success(
        request,
        ngettext(
            "%(count)d device will ask for a second step again.",
            "%(count)d devices will ask for a second step again.",
            count,
        )
        % {"count": count},
    )
    return redirect("security_info")


# --- The sign-in challenge --------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def challenge(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    stage = TwoStepStage.pending(request)
    if stage is None or stage.login.user is None:
        return redirect("account_login")
    user = stage.login.user
    options = selectors.second_step_options(user)
    if not options:
        # SECURITY: fail closed. The stage sends no one here without a method to ask for.
        messages.error(
            request, _("Your second step can't be checked here. Sign in again, or use account recovery.")
        )
        return stage.abort()
    wanted = request.POST.get("method") or request.GET.get("method") or options[0].key
    option = next((o for o in options if o.key == wanted), options[0])
    form: SecondStepForm | PasskeyStepForm = (
        PasskeyStepForm() if option.kind == MethodKind.PASSKEY else SecondStepForm()
    )
    if request.method == "POST":
        if request.POST.get("action") == "send" and option.method is not None:
            try:
                services.send_text_message_code(user=user, request=request, method=option.method)
            except services.Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a code by text message. It expires in %(minutes)d minutes.")
                    % {"minutes": settings.PHONE_CODE_TTL // 60},
                )
            return redirect(reverse("security_challenge") + "?" + urlencode({"method": option.key}))
        form = (
            PasskeyStepForm(request.POST)
            if option.kind == MethodKind.PASSKEY
            else SecondStepForm(request.POST)
        )
        if form.is_valid():
            try:
                services.verify_second_step(
                    request=request,
                    user=user,
                    option=option,
                    code=form.cleaned_data.get("code", ""),
                    credential=form.cleaned_data.get("credential"),
                )
            except services.Refused as exc:
                form.add_error("code" if "code" in form.fields else None, exc.message)
            else:
                trusted = None
                if form.cleaned_data["trust_device"]:
                    trusted = services.trust_this_device(request=request, user=user)
                response = stage.exit()
                if option.kind == "recovery_code" and request.user.is_authenticated:
                    # A recovery code means a method was lost: lead the person to set up
                    # a new one and a new set of codes before anything else.
                    response = redirect("recovery_set_up")
                if trusted is not None:
                    trust.write_entry(request, response, str(trusted[0].public_id), trusted[1])
                return response
    return render(
        request,
        "security/challenge.html",
        {
            "form": form,
            "option": option,
            "others": [o for o in options if o.key != option.key],
            "passkey_options": (
                webauthn.begin_second_step(request, user) if option.kind == MethodKind.PASSKEY else None
            ),
        },
        status=400 if form.errors else 200,
    )


# --- A removal that waits ------------------------------------------------------------------------

CANCEL_TOKEN_SESSION_KEY = "threshold.security.cancel_removal"


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def removal_confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    """Prove one of the older methods, and the waiting removal happens now."""
    user = request.user
    removal = selectors.pending_removal(user, public_id)
    if removal is None:
        messages.info(request, _("That change is no longer waiting."))
        return redirect("security_info")
    options = selectors.confirm_options(user, removal)
    if not options:
        messages.error(
            request,
            _(
                "None of your older sign-in methods is left to confirm with. The change happens at the end of the wait."
            ),
        )
        return redirect("security_info")
    wanted = request.POST.get("method") or request.GET.get("method") or options[0].key
    option = next((o for o in options if o.key == wanted), options[0])
    here = (
        reverse("security_removal_confirm", args=[removal.public_id])
        + "?"
        + urlencode({"method": option.key})
    )
    form: ConfirmCodeForm | ConfirmPasskeyForm = (
        ConfirmPasskeyForm() if option.kind == MethodKind.PASSKEY else ConfirmCodeForm()
    )
    if request.method == "POST":
        if request.POST.get("action") == "send" and option.method is not None:
            try:
                services.send_removal_confirmation_code(
                    user=user, request=request, removal=removal, method=option.method
                )
            except services.Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a code by text message. It expires in %(minutes)d minutes.")
                    % {"minutes": settings.PHONE_CODE_TTL // 60},
                )
            return redirect(here)
        form = (
            ConfirmPasskeyForm(request.POST)
            if option.kind == MethodKind.PASSKEY
            else ConfirmCodeForm(request.POST)
        )
        if form.is_valid():
            try:
                services.confirm_removal(
                    user=user,
                    request=request,
                    removal=removal,
                    option=option,
                    code=form.cleaned_data.get("code", ""),
                    credential=form.cleaned_data.get("credential"),
                )
            except services.Refused as exc:
                if exc.code != "wrong_code" and exc.code != "throttled":
                    raise
                form.add_error("code" if "code" in form.fields else None, exc.message)
            else:
                messages.success(request, _("“%(name)s” was removed.") % {"name": removal.name})
                return redirect("security_info")
    return render(
        request,
        "security/removal_confirm.html",
        {
            "removal": removal,
            "form": form,
            "option": option,
            "others": [o for o in options if o.key != option.key],
            "passkey_options": (
                webauthn.begin_second_step(request, user) if option.kind == MethodKind.PASSKEY else None
            ),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def removal_cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    removal = selectors.pending_removal(request.user, public_id)
    if removal is not None and services.cancel_removal(user=request.user, request=request, removal=removal):
        messages.success(request, _("The removal was cancelled: “%(name)s” stays.") % {"name": removal.name})
    return redirect("security_info")


@never_cache
@require_GET
def removal_cancel_link(request: HttpRequest, token: str) -> HttpResponse:
    # SECURITY: the token moves into the session and the address bar loses it, so it
    # leaks through neither the Referer header nor the browser's history; and opening the
    # link changes nothing, because mail scanners follow links: the page asks for a POST.
    request.session[CANCEL_TOKEN_SESSION_KEY] = token
    return redirect("security_removal_cancel_page")


@never_cache
@require_http_methods(["GET", "POST"])
def removal_cancel_page(request: HttpRequest) -> HttpResponse:
    """The owner's emergency brake: no sign-in needed, the link is the proof."""
    token = str(request.session.get(CANCEL_TOKEN_SESSION_KEY, ""))
    removal = selectors.removal_by_token(token)
    form = CancelRemovalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and removal is not None and removal.pending and form.is_valid():
        done = services.cancel_removals_by_link(
            token=token, request=request, sign_out_everywhere=form.cleaned_data["sign_out_everywhere"]
        )
        request.session.pop(CANCEL_TOKEN_SESSION_KEY, None)
        return render(request, "security/removal_cancelled.html", {"removal": removal, "done": done})
    return render(
        request,
        "security/removal_cancel.html",
        {"removal": removal if removal is not None and removal.pending else None, "form": form},
    )


# --- "This wasn't me" ----------------------------------------------------------------------------


@never_cache
@require_GET
def not_me(request: HttpRequest) -> HttpResponse:
    return render(request, "security/not_me.html")


def _tell_sessions_ended(request: HttpRequest, ended: int) -> None:
    if ended:
        messages.info(
            request,
            ngettext(
                "%(count)d other session was signed out.",
                "%(count)d other sessions were signed out.",
                ended,
            )
            % {"count": ended},
        )
