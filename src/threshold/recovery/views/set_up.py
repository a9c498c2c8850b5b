"""After a recovery sign-in: a new method and new codes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.recovery.selectors.set_up import SET_UP_DISMISSED_SESSION_KEY, set_up_progress
from threshold.security.models import MethodKind
from threshold.security.new_codes import keep_new_codes
from threshold.security.selectors.methods import (
    addable_kinds,
    has_authenticator_app,
    phones_for_text_messages,
)
from threshold.security.services.recovery_codes import generate_recovery_codes
from threshold.verification.sign_in import ACCESS_PASS, access_pass_session_until


@login_required
@never_cache
@require_GET
def set_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    progress = set_up_progress(user)
    if progress is None:
        return redirect("security_info")
    return render(
        request,
        "recovery/set_up.html",
        {
            "progress": progress,
            "pass_until": access_pass_session_until(request),
            "kinds": addable_kinds(user),
            "method_kinds": MethodKind,
            "phones": phones_for_text_messages(user).exists(),
            "via_pass": progress.via == ACCESS_PASS,
            "has_authenticator_app": has_authenticator_app(user),
        },
    )


@login_required
@require_POST
def set_up_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = generate_recovery_codes(user=request.user, request=request)
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
    request.session[SET_UP_DISMISSED_SESSION_KEY] = True
    return redirect("overview")
