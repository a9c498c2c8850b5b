"""One page for proving a second method, shared by every flow that asks for one.

The sign-in challenge, the password reset's second step and the removal confirmation draw the
same page and read the same forms; what differs per flow (which methods, where the page lives,
how a code is sent and checked, where to go next) is handed in. Kept outside ``views`` so that
recovery may use it without importing security's views.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from threshold.core.errors import Refused
from threshold.security import webauthn
from threshold.security.forms.second_method import (
    SecondMethodCodeForm,
    SecondMethodForm,
    SecondMethodPasskeyForm,
)
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.challenge import SecondStepOption


def second_method_form(
    option: SecondStepOption, data: Any = None, *, offer_trust: bool, no_passkey_message: str
) -> SecondMethodForm:
    if option.kind == MethodKind.PASSKEY:
        return SecondMethodPasskeyForm(data, offer_trust=offer_trust, no_passkey_message=no_passkey_message)
    return SecondMethodCodeForm(data, offer_trust=offer_trust)


def second_method_page(
    request: HttpRequest,
    *,
    user: Any,
    options: list[SecondStepOption],
    page_url: str,
    template: str,
    send_code: Callable[[SecondStepOption, SignInMethod], None],
    verify: Callable[[SecondStepOption, str, Any], None],
    done: Callable[[SecondStepOption, SecondMethodForm], HttpResponseBase],
    no_passkey_message: str,
    offer_trust: bool = False,
    shown_refusals: Collection[str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> HttpResponseBase:
    """Ask for one of ``options``, send a text-message code on request, and check what is posted.

    ``send_code`` and ``verify`` raise ``Refused``; a refusal from ``verify`` is shown on the form
    (only those whose code is in ``shown_refusals``, when given). ``done`` answers a proven POST.
    """
    wanted = request.POST.get("method") or request.GET.get("method") or options[0].key
    option = next((o for o in options if o.key == wanted), options[0])
    form = second_method_form(option, offer_trust=offer_trust, no_passkey_message=no_passkey_message)
    if request.method == "POST":
        if request.POST.get("action") == "send" and option.method is not None:
            try:
                send_code(option, option.method)
            except Refused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a code by text message. It expires in %(minutes)d minutes.")
                    % {"minutes": settings.PHONE_CODE_TTL // 60},
                )
            return redirect(page_url + "?" + urlencode({"method": option.key}))
        form = second_method_form(
            option, request.POST, offer_trust=offer_trust, no_passkey_message=no_passkey_message
        )
        if form.is_valid():
            try:
                verify(option, form.cleaned_data.get("code", ""), form.cleaned_data.get("credential"))
            except Refused as exc:
                if shown_refusals is not None and exc.code not in shown_refusals:
                    raise
                form.add_error("code" if "code" in form.fields else None, exc.message)
            else:
                return done(option, form)
    response: HttpResponse = render(
        request,
        template,
        {
            **(context or {}),
            "form": form,
            "option": option,
            "others": [o for o in options if o.key != option.key],
            "second_method_url": page_url,
            "passkey_options": (
                webauthn.begin_second_step(request, user) if option.kind == MethodKind.PASSKEY else None
            ),
        },
        status=400 if form.errors else 200,
    )
    return response
