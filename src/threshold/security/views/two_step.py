"""Turning two-step verification on and off."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security.new_codes import keep_new_codes
from threshold.security.services.two_step import disable_two_step, enable_two_step
from threshold.security.views.refusals import handles_refusals, needs_fresh_sign_in, reauthenticate


@login_required
@require_POST
@handles_refusals
def two_step_on(request: HttpRequest) -> HttpResponse:
    new_codes = enable_two_step(user=request.user, request=request)
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
    if decision.allowed and needs_fresh_sign_in(request):
        return reauthenticate(request)
    if request.method == "POST":
        disable_two_step(user=request.user, request=request)
        messages.warning(request, _("Two-step verification is off. Your password alone now lets you in."))
        return redirect("security_info")
    return render(request, "security/two_step_off.html", {"decision": decision})
