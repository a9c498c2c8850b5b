"""Security info: the page, and adding, renaming and removing methods and choosing the default."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security.forms.methods import RemoveMethodForm, RenameMethodForm, TextMessageMethodForm
from threshold.security.models import MethodKind
from threshold.security.selectors import security_info as info_selectors
from threshold.security.selectors.methods import (
    RECOVERY_CODES_LOW,
    addable_kinds,
    method_by_public_id,
    phones_for_text_messages,
)
from threshold.security.selectors.removal_wait import wait_days
from threshold.security.services.guard_rails import removal_decision
from threshold.security.services.methods import (
    add_text_message_method,
    remove_sign_in_method,
    rename_sign_in_method,
    set_default_method,
)
from threshold.security.services.removal_wait import removal_waits
from threshold.security.views.refusals import handles_refusals, needs_fresh_sign_in, reauthenticate
from threshold.security.views.removal_wait import tell_sessions_ended


@login_required
@require_GET
def security_info(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "security/security_info.html",
        {
            "info": info_selectors.security_info(user),
            "two_step_off_lock": policies.evaluate(user, Action.TWO_STEP_DISABLE),
            "method_kinds": MethodKind,
            "low_codes": RECOVERY_CODES_LOW,
        },
    )


@login_required
@require_GET
def add_method(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "security/add_method.html",
        {
            "kinds": addable_kinds(user),
            "method_kinds": MethodKind,
            "phones": phones_for_text_messages(user),
            "add_lock": policies.evaluate(user, Action.METHOD_ADD),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def add_text_message(request: HttpRequest) -> HttpResponse:
    user = request.user
    if needs_fresh_sign_in(request):
        return reauthenticate(request)
    form = TextMessageMethodForm(
        request.POST if request.method == "POST" else None, phones=phones_for_text_messages(user)
    )
    if request.method == "POST" and form.is_valid():
        method = add_text_message_method(user=user, request=request, phone=form.cleaned_data["phone"])
        messages.success(request, _("%(number)s now receives sign-in codes.") % {"number": method.name})
        return redirect("security_info")
    return render(request, "security/add_text_message.html", {"form": form})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def remove_method(request: HttpRequest, public_id: str) -> HttpResponse:
    user = request.user
    method = method_by_public_id(user, public_id)
    if method is None:
        raise Http404
    decision = removal_decision(user=user, method=method)
    if decision.allowed and needs_fresh_sign_in(request):
        return reauthenticate(request)
    form = RemoveMethodForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and decision.allowed and form.is_valid():
        removal = remove_sign_in_method(
            user=user, request=request, method=method, sign_out_others=form.cleaned_data["sign_out_others"]
        )
        if removal.scheduled is not None:
            messages.warning(
                request,
                _(
                    "“%(name)s” will be removed on %(date)s: it is the last of your older sign-in methods. "
                    "Until then it keeps working. To remove it now, confirm with one of your older methods."
                )
                % {
                    "name": method.name,
                    "date": formats.date_format(
                        timezone.localtime(removal.scheduled.effective_at), "DATE_FORMAT"
                    ),
                },
            )
        else:
            messages.success(request, _("“%(name)s” was removed.") % {"name": method.name})
        tell_sessions_ended(request, removal.sessions_ended)
        return redirect("security_info")
    return render(
        request,
        "security/remove_method.html",
        {
            "method": method,
            "decision": decision,
            "form": form,
            "waits": decision.allowed and removal_waits(user=user, request=request, method=method),
            "wait_days": wait_days(),
            "window_days": settings.SECURITY_INFO_WINDOW_DAYS,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def rename_method(request: HttpRequest, public_id: str) -> HttpResponse:
    method = method_by_public_id(request.user, public_id)
    if method is None:
        raise Http404
    if needs_fresh_sign_in(request):
        return reauthenticate(request)
    form = RenameMethodForm(request.POST if request.method == "POST" else None, initial={"name": method.name})
    if request.method == "POST" and form.is_valid():
        rename_sign_in_method(
            user=request.user, request=request, method=method, name=form.cleaned_data["name"]
        )
        messages.success(request, _("Renamed to “%(name)s”.") % {"name": method.name})
        return redirect("security_info")
    return render(request, "security/rename_method.html", {"method": method, "form": form})


@login_required
@require_POST
@handles_refusals
def make_default(request: HttpRequest, public_id: str) -> HttpResponse:
    method = method_by_public_id(request.user, public_id)
    if method is None:
        raise Http404
    set_default_method(user=request.user, request=request, method=method)
    messages.success(request, _("“%(name)s” is now offered first when you sign in.") % {"name": method.name})
    return redirect("security_info")
