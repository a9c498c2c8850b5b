"""Removing the password: a passwordless account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from threshold.security.selectors.methods import passwordless_passkeys
from threshold.security.services import passwords
from threshold.security.services.passwords import password_removal_decision
from threshold.security.views.refusals import handles_refusals, needs_fresh_sign_in, reauthenticate
from threshold.security.views.removal_wait import tell_sessions_ended


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def remove_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    decision = password_removal_decision(user=user)
    if decision.allowed and needs_fresh_sign_in(request):
        return reauthenticate(request)
    if request.method == "POST" and decision.allowed:
        ended = passwords.remove_password(user=user, request=request)
        messages.success(request, _("Your password was removed. You now sign in with a passkey."))
        tell_sessions_ended(request, ended)
        return redirect("security_info")
    return render(
        request,
        "security/remove_password.html",
        {"decision": decision, "passkeys": passwordless_passkeys(user)},
    )
