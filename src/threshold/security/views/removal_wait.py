"""A removal that waits: confirming it, cancelling it, and "This wasn't me"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.security.forms.removal_wait import CancelRemovalForm
from threshold.security.forms.second_method import SecondMethodForm
from threshold.security.second_method import second_method_page
from threshold.security.selectors.challenge import SecondStepOption
from threshold.security.selectors.removal_wait import confirm_options, pending_removal, removal_by_token
from threshold.security.services.removal_wait import (
    cancel_removal,
    cancel_removals_by_link,
    confirm_removal,
    send_removal_confirmation_code,
)
from threshold.security.views.refusals import handles_refusals
from threshold.verification.links import forget_link_token, link_landing, link_page, link_token

CANCEL_REMOVAL_LINK = "removal_cancel"


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@handles_refusals
def removal_confirm(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """Prove one of the older methods, and the waiting removal happens now."""
    user = request.user
    removal = pending_removal(user, public_id)
    if removal is None:
        messages.info(request, _("That change is no longer waiting."))
        return redirect("security_info")
    options = confirm_options(user, removal)
    if not options:
        messages.error(
            request,
            _(
                "None of your older sign-in methods is left to confirm with. The change happens at the end of the wait."
            ),
        )
        return redirect("security_info")

    def done(option: SecondStepOption, form: SecondMethodForm) -> HttpResponseBase:
        messages.success(request, _("“%(name)s” was removed.") % {"name": removal.name})
        return redirect("security_info")

    return second_method_page(
        request,
        user=user,
        options=options,
        page_url=reverse("security_removal_confirm", args=[removal.public_id]),
        template="security/removal_confirm.html",
        send_code=lambda option, method: send_removal_confirmation_code(
            user=user, request=request, removal=removal, method=method
        ),
        verify=lambda option, code, credential: confirm_removal(
            user=user, request=request, removal=removal, option=option, code=code, credential=credential
        ),
        done=done,
        no_passkey_message=_("Your browser sent no passkey. Try again, or choose another way."),
        shown_refusals={"wrong_code", "throttled"},
        context={"removal": removal},
    )


@login_required
@require_POST
def removal_cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    removal = pending_removal(request.user, public_id)
    if removal is not None and cancel_removal(user=request.user, request=request, removal=removal):
        messages.success(request, _("The removal was cancelled: “%(name)s” stays.") % {"name": removal.name})
    return redirect("security_info")


removal_cancel_link = link_landing(CANCEL_REMOVAL_LINK, to="security_removal_cancel_page")


@link_page
@require_http_methods(["GET", "POST"])
def removal_cancel_page(request: HttpRequest) -> HttpResponse:
    """The owner's emergency brake: no sign-in needed, the link is the proof."""
    token = link_token(request, CANCEL_REMOVAL_LINK)
    removal = removal_by_token(token)
    form = CancelRemovalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and removal is not None and removal.pending and form.is_valid():
        done = cancel_removals_by_link(
            token=token, request=request, sign_out_everywhere=form.cleaned_data["sign_out_everywhere"]
        )
        forget_link_token(request, CANCEL_REMOVAL_LINK)
        return render(request, "security/removal_cancelled.html", {"removal": removal, "done": done})
    return render(
        request,
        "security/removal_cancel.html",
        {"removal": removal if removal is not None and removal.pending else None, "form": form},
    )


@never_cache
@require_GET
def not_me(request: HttpRequest) -> HttpResponse:
    return render(request, "security/not_me.html")


def tell_sessions_ended(request: HttpRequest, ended: int) -> None:
    if ended:
        messages.info(
            request,
            ngettext(
                "%(count)d other session was signed out.",
                "%(count)d other sessions were signed out.",
                ended,
            )
            % {"count": ended},
        )
