"""Signing in with a Temporary Access Pass."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from threshold.recovery.forms.access_pass import AccessPassSignInForm
from threshold.recovery.services.access_pass import (
    AccessPassRefused,
    AccessPassThrottled,
    sign_in_with_access_pass,
)
from threshold.verification.sign_in import access_pass_session_live


@never_cache
@require_http_methods(["GET", "POST"])
def access_pass_sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("recovery_set_up" if access_pass_session_live(request) else "overview")
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
