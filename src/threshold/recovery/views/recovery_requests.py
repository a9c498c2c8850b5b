"""Account recovery reviewed by our support team: the request, its confirmation, and completing it."""

from __future__ import annotations

import time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from threshold.accounts.models import VerificationPurpose
from threshold.recovery.forms.account_recovery import CodeForm
from threshold.recovery.forms.recovery_requests import RecoveryRequestForm
from threshold.recovery.models import RecoveryKind, RecoveryStatus
from threshold.recovery.selectors.account_recovery import managing_organization, recovery_by_completion_token
from threshold.recovery.sending import code_minutes
from threshold.recovery.services.recovery_messages import RecoveryRefused
from threshold.recovery.services.recovery_requests import queue_recovery_request, send_contact_code
from threshold.recovery.views.account_recovery import (
    COMPLETE_LINK,
    RECOVERY_FLOW_SECONDS,
    REQUEST_DRAFT,
    _new_password_page,
)
from threshold.verification.links import forget_link_token, link_landing, link_page, link_token


@never_cache
@require_http_methods(["GET", "POST"])
def recover_request(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("security_info")
    form = RecoveryRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        organization = managing_organization(form.cleaned_data["account_email"])
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


recover_complete_link = link_landing(COMPLETE_LINK, to="recover_complete")


@link_page
@require_http_methods(["GET", "POST"])
def recover_complete(request: HttpRequest) -> HttpResponse:
    """The approval mail's single-use link: a new password, then signed in."""
    recovery = recovery_by_completion_token(link_token(request, COMPLETE_LINK))
    usable = (
        recovery is not None
        and recovery.user is not None
        and recovery.kind == RecoveryKind.REVIEWED
        and recovery.status == RecoveryStatus.READY
        and recovery.expires_at is not None
        and recovery.expires_at > timezone.now()
    )
    if not usable or recovery is None:
        forget_link_token(request, COMPLETE_LINK)
        return render(request, "recovery/link_invalid.html", status=404)
    return _new_password_page(
        request,
        recovery,
        action=reverse("recover_complete"),
        on_success=lambda: forget_link_token(request, COMPLETE_LINK),
    )
