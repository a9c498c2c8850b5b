"""The sign-in challenge: the second step after the password."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from threshold.core.errors import Refused
from threshold.devices import trust
from threshold.devices.services import trust_this_device
from threshold.security import webauthn
from threshold.security.forms.challenge import PasskeyStepForm, SecondStepForm
from threshold.security.models import MethodKind
from threshold.security.selectors.challenge import second_step_options
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
    wanted = request.POST.get("method") or request.GET.get("method") or options[0].key
    option = next((o for o in options if o.key == wanted), options[0])
    form: SecondStepForm | PasskeyStepForm = (
        PasskeyStepForm() if option.kind == MethodKind.PASSKEY else SecondStepForm()
    )
    if request.method == "POST":
        if request.POST.get("action") == "send" and option.method is not None:
            try:
                send_text_message_code(user=user, request=request, method=option.method)
            except Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a code by text message. It expires in %(minutes)d minutes.")
                    % {"minutes": settings.PHONE_CODE_TTL // 60},
                )
            return redirect(reverse("security_challenge") + "?" + urlencode({"method": option.key}))
        form = (
            PasskeyStepForm(request.POST)
            if option.kind == MethodKind.PASSKEY
            else SecondStepForm(request.POST)
        )
        if form.is_valid():
            try:
                verify_second_step(
                    request=request,
                    user=user,
                    option=option,
                    code=form.cleaned_data.get("code", ""),
                    credential=form.cleaned_data.get("credential"),
                )
            except Refused as exc:
                form.add_error("code" if "code" in form.fields else None, exc.message)
            else:
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
    return render(
        request,
        "security/challenge.html",
        {
            "form": form,
            "option": option,
            "others": [o for o in options if o.key != option.key],
            "passkey_options": (
                webauthn.begin_second_step(request, user) if option.kind == MethodKind.PASSKEY else None
            ),
        },
        status=400 if form.errors else 200,
    )
