"""Recovery codes: a new set, shown once, to download or print."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.security.new_codes import NEW_CODES_SESSION_KEY, keep_new_codes, new_codes
from threshold.security.selectors.methods import recovery_codes_left
from threshold.security.services.recovery_codes import generate_recovery_codes
from threshold.security.views.refusals import handles_refusals, needs_fresh_sign_in, reauthenticate


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def recovery_codes_new(request: HttpRequest) -> HttpResponse:
    if needs_fresh_sign_in(request):
        return reauthenticate(request)
    if request.method == "POST":
        keep_new_codes(request, generate_recovery_codes(user=request.user, request=request))
        return redirect("security_recovery_codes")
    return render(request, "security/recovery_codes_new.html", {"left": recovery_codes_left(request.user)})


@login_required
@never_cache
@require_GET
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = new_codes(request)
    if not codes:
        messages.info(request, _("Recovery codes are shown only once, right after they are made."))
        return redirect("security_info")
    return render(request, "security/recovery_codes.html", {"codes": codes})


@login_required
@never_cache
@require_GET
def recovery_codes_download(request: HttpRequest) -> HttpResponse:
    codes = new_codes(request)
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
    codes = new_codes(request)
    if not codes:
        raise Http404
    return render(request, "security/recovery_codes_print.html", {"codes": codes, "made_at": timezone.now()})


@login_required
@require_POST
def recovery_codes_done(request: HttpRequest) -> HttpResponse:
    state = request.session.pop(NEW_CODES_SESSION_KEY, None)
    then = state.get("then") if isinstance(state, dict) else ""
    return redirect(then or "security_info")
