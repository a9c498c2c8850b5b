from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from threshold.accounts import selectors, services
from threshold.accounts.forms import ProfileForm, RegionForm
from threshold.activity import selectors as activity_selectors


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/overview.html",
        {
            "emails": selectors.email_addresses(user),  # type: ignore[arg-type]
            "phones": selectors.phone_numbers(user),  # type: ignore[arg-type]
            "last_sign_in": activity_selectors.last_sign_in(user),
            "recent_events": activity_selectors.events_for(user, limit=5),
            "session_count": selectors.session_count(user),  # type: ignore[arg-type]
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def your_info(request: HttpRequest) -> HttpResponse:
    user = request.user
    profile_form = ProfileForm(
        initial={f: getattr(user, f) for f in ("given_name", "family_name", "display_name")}
    )
    region_form = RegionForm(initial={"locale": user.locale, "time_zone": user.time_zone})  # type: ignore[union-attr]
    if request.method == "POST":
        if request.POST.get("section") == "region":
            region_form = RegionForm(request.POST)
            form = region_form
        else:
            profile_form = ProfileForm(request.POST)
            form = profile_form  # type: ignore[assignment]
        if form.is_valid():
            changed = services.update_profile(user=user, request=request, changes=form.cleaned_data)  # type: ignore[arg-type]
            if changed:
                messages.success(request, _("Your changes were saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("your_info")
        messages.error(request, _("Nothing was saved. Correct the marked fields and try again."))
    return render(
        request,
        "accounts/your_info.html",
        {
            "profile_form": profile_form,
            "region_form": region_form,
            "emails": selectors.email_addresses(user),  # type: ignore[arg-type]
            "phones": selectors.phone_numbers(user),  # type: ignore[arg-type]
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    include_current = request.POST.get("include_current") == "on"
    ended = services.sign_out_everywhere(
        user=request.user,  # type: ignore[arg-type]
        request=request,
        include_current=include_current,
    )
    if include_current:
        return redirect("account_login")
    messages.success(
        request,
        _("Signed out of %(count)d other session(s). This browser stays signed in.") % {"count": ended},
    )
    return redirect("overview")
