"""The sign-in challenge: the second step after the password."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from threshold.devices import trust
from threshold.devices.services import trust_this_device
from threshold.security.forms.second_method import SecondMethodForm
from threshold.security.second_method import second_method_page
from threshold.security.selectors.challenge import SecondStepOption, second_step_options
from threshold.security.services.challenge import verify_second_step
from threshold.security.services.text_messages import send_text_message_code
from threshold.security.stages import TwoStepStage


@never_cache
@require_http_methods(["GET", "POST"])
def challenge(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    stage = TwoStepStage.pending(request)
    if stage is None or stage.login.user is None:
        return redirect("account_login")
    user = stage.login.user
    options = second_step_options(user)
    if not options:
        # SECURITY: fail closed. The stage sends no one here without a method to ask for.
        messages.error(
            request, _("Your second step can't be checked here. Sign in again, or use account recovery.")
        )
        return stage.abort()

    def done(option: SecondStepOption, form: SecondMethodForm) -> HttpResponseBase:
        trusted = None
        if form.cleaned_data["trust_device"]:
            trusted = trust_this_device(request=request, user=user)
        response = stage.exit()
        if option.kind == "recovery_code" and request.user.is_authenticated:
            # A recovery code means a method was lost: lead the person to set up
            # a new one and a new set of codes before anything else.
            response = redirect("recovery_set_up")
        if trusted is not None:
            trust.write_entry(request, response, str(trusted[0].public_id), trusted[1])
        return response

    return second_method_page(
        request,
        user=user,
        options=options,
        page_url=reverse("security_challenge"),
        template="security/challenge.html",
        send_code=lambda option, method: send_text_message_code(user=user, request=request, method=method),
        verify=lambda option, code, credential: verify_second_step(
            request=request, user=user, option=option, code=code, credential=credential
        ),
        done=done,
        no_passkey_message=_("Your browser sent no passkey. Try again, or choose another way to sign in."),
        offer_trust=True,
    )
