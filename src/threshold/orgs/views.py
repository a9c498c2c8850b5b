from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import http_date, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.accounts import photos
from threshold.core.errors import PolicyDenied
from threshold.orgs import policies, selectors, services
from threshold.orgs.forms import FirstPasswordForm


@login_required
@require_GET
def organizations(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    rows = [
        {"membership": m, "leave": services.leave_decision(user=user, membership=m)}
        for m in selectors.memberships_of(user)
    ]
    return render(request, "orgs/organizations.html", {"rows": rows})


@login_required
@require_POST
def leave(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    membership = selectors.membership_by_public_id(request.user, public_id)
    if membership is None:
        raise Http404
    try:
        services.leave_organization(user=request.user, request=request, membership=membership)
    except PolicyDenied as exc:
        messages.error(request, exc.decision.sentence)
    else:
        messages.success(request, _("You left %(org)s.") % {"org": membership.organization.name})
    return redirect("organizations")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def set_up(request: HttpRequest) -> HttpResponse:
    enrolment = policies.pending_enrolment(request.user)
    next_url = _safe_next(request)
    if enrolment is None:
        return redirect(next_url or "overview")
    if request.method == "POST":
        if not enrolment.may_skip:
            messages.error(request, _("The time to set this up has passed. Set it up now to go on."))
            return redirect("orgs_set_up")
        services.skip_enrolment(user=request.user, request=request, need=enrolment.need)
        return redirect(next_url or "overview")
    return render(request, "orgs/set_up.html", {"enrolment": enrolment, "next": next_url})


@require_GET
def branding_css(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The accent colour of a Premium organisation's sign-in page, as a stylesheet.

    SECURITY: a served stylesheet keeps the CSP free of inline style; the colour was
    validated as #rrggbb when saved and is checked again here before it is written out.
    """
    accent = selectors.accent_of(public_id)
    body = ""
    if (
        accent
        and len(accent) == 7
        and accent[0] == "#"
        and all(c in "0123456789abcdefABCDEF" for c in accent[1:])
    ):
        body = f".org-brand {{ --org-accent: {accent}; }}\n"
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_GET
def logo(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = selectors.logo_of(public_id)
    if found is None:
        raise Http404
    data, updated_at = found
    response = HttpResponse(data, content_type=photos.content_type_of(data))
    # SECURITY: our own re-encoded image, served so that nothing in it could ever run.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = 'inline; filename="logo.webp"'
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Last-Modified"] = http_date(updated_at.timestamp())
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """An invited person chooses the first password of their work account."""
    invitation = services.open_invitation(token)
    if invitation is None:
        return render(request, "orgs/welcome_expired.html", status=404)
    form = FirstPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_invitation(token=token, password=form.cleaned_data["password1"], request=request)
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            messages.success(request, _("Your password is set. Sign in to start using your account."))
            return redirect(f"{reverse('account_login')}?{urlencode({'login_hint': invitation.user.email})}")
    return render(
        request,
        "orgs/welcome.html",
        {"invitation": invitation, "form": form},
        status=400 if request.method == "POST" else 200,
    )
