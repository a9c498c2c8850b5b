"""Turning the services' refusals into a page the person can act on, for every security view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from threshold.core.errors import FreshSignInRequired, PolicyDenied, Refused
from threshold.verification.sign_in import signed_in_recently

View = Callable[..., HttpResponseBase]


def reauthenticate(request: HttpRequest, message: str = "") -> HttpResponse:
    messages.info(request, message or _("For your security, sign in again to continue."))
    url = reverse("account_reauthenticate") + "?" + urlencode({"next": request.path})
    return redirect(url)


def handles_refusals(view: View) -> View:
    """Turn the services' refusals into a redirect with a message the person can act on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except FreshSignInRequired as exc:
            return reauthenticate(request, exc.message)
        except PolicyDenied as exc:
            messages.error(request, exc.decision.sentence)
            return redirect("security_info")
        except Refused as exc:
            messages.error(request, exc.message)
            return redirect("security_info")

    return wrapper


def needs_fresh_sign_in(request: HttpRequest) -> bool:
    return not signed_in_recently(request, request.user)
