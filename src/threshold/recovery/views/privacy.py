"""The privacy page: downloading your data, closing the account and reopening it."""

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
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.recovery.forms.closure import CloseAccountForm
from threshold.recovery.selectors.closure import closure_summary
from threshold.recovery.selectors.export import latest_export
from threshold.recovery.services.closure import AlreadyClosing, close_account, reopen_account
from threshold.recovery.services.export import ExportNotFound, download_data_export, request_data_export
from threshold.verification.sign_in import signed_in_recently

SESSION_CLOSES_AT = "threshold.recovery.closes_at"


def _reauthenticate(request: HttpRequest, message: str = "") -> HttpResponse:
    messages.info(request, message or _("For your security, sign in again to continue."))
    return redirect(reverse("account_reauthenticate") + "?" + urlencode({"next": request.path}))


@login_required
@never_cache
@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/privacy.html", {"export": latest_export(request.user)})


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
            "summary": closure_summary(request.user),
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
