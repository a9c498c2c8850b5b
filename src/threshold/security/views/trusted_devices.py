"""Forgetting trusted devices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from threshold.devices import services as devices


@login_required
@require_POST
def forget_trusted_devices(request: HttpRequest) -> HttpResponse:
    count = devices.forget_trusted_devices(user=request.user, request=request)
    messages.success(
        request,
        ngettext(
            "%(count)d device will ask for a second step again.",
            "%(count)d devices will ask for a second step again.",
            count,
        )
        % {"count": count},
    )
    return redirect("security_info")
