"""Privacy, closing and reopening the account, the set-up after a recovery sign-in and signing
in with a Temporary Access Pass. Thin: parse, call one service, answer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.recovery import selectors, services
from threshold.recovery.forms import AccessPassSignInForm, CloseAccountForm
from threshold.security import selectors as security_selectors
from threshold.security import services as security_services
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
        services.request_data_export(user=request.user, request=request)
    except FreshSignInRequired as exc:
        messages.info(request, exc.message)
        return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": reverse("privacy")}))
    except PolicyDenied as exc:
        messages.error(request, exc.decision.message or _("Your organization does not allow this change."))
        return redirect("privacy")
    return redirect(reverse("privacy") + "#export")


@login_required
@never_cache
@require_GET
def download(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        export = services.download_data_export(user=request.user, request=request, public_id=public_id)
    except FreshSignInRequired as exc:
        return _reauthenticate(request, exc.message)
    except services.ExportNotFound:
        raise Http404 from None
    response = HttpResponse(bytes(export.content or b""), content_type="application/zip")
    name = f"threshold-data-{export.requested_at:%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest) -> HttpResponse:
    form = CloseAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            closes_at = services.close_account(
                user=request.user,
                request=request,
                days=form.cleaned_data["days"],
                reason=form.cleaned_data["reason"],
            )
        except FreshSignInRequired as exc:
            return _reauthenticate(request, exc.message)
        except PolicyDenied as exc:
            messages.error(
                request, exc.decision.message or _("Your organization does not allow this change.")
            )
            return redirect("privacy")
        except services.AlreadyClosing:
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
            reopened = services.reopen_account(user=user, request=request)
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
        messages.error(request, exc.decision.message or _("Your organization does not allow this change."))
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
            return services.sign_in_with_access_pass(
                request=request, email=form.cleaned_data["email"], code=form.cleaned_data["access_pass"]
            )
        except services.AccessPassThrottled as exc:
            form.add_error(
                None,
                ngettext(
                    "Too many tries with a Temporary Access Pass. Wait %(seconds)d second and try again.",
                    "Too many tries with a Temporary Access Pass. Wait %(seconds)d seconds and try again.",
                    exc.retry_after,
                )
                % {"seconds": exc.retry_after},
            )
        except services.AccessPassRefused:
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
