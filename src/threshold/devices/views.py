"""The Devices page, renaming and removing a device, and Lock my account. Thin."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from threshold.core.errors import PolicyDenied
from threshold.devices import selectors, services
from threshold.devices.forms import RenameDeviceForm, SignOutEverywhereForm


def _denied(request: HttpRequest, exc: PolicyDenied) -> HttpResponse:
    messages.error(request, exc.decision.sentence)
    return redirect("devices")


@login_required
@require_GET
def devices(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "devices/devices.html",
        {"page": selectors.devices_page(request.user, request), "sign_out_form": SignOutEverywhereForm()},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def rename(request: HttpRequest, public_id: Any) -> HttpResponse:
    device = selectors.device_by_public_id(request.user, public_id)
    if device is None:
        raise Http404
    form = RenameDeviceForm(request.POST if request.method == "POST" else None, initial={"name": device.name})
    if request.method == "POST" and form.is_valid():
        try:
            device = services.rename_device(
                user=request.user, request=request, public_id=public_id, name=form.cleaned_data["name"]
            )
        except services.DeviceNotFound:
            raise Http404 from None
        except PolicyDenied as exc:
            return _denied(request, exc)
        messages.success(request, _("The device is now called “%(name)s”.") % {"name": device.display_name})
        return redirect("devices")
    return render(request, "devices/rename.html", {"device": device, "form": form})


@login_required
@require_POST
def remove(request: HttpRequest, public_id: Any) -> HttpResponse:
    try:
        removal = services.remove_device(user=request.user, request=request, public_id=public_id)
    except services.DeviceNotFound:
        raise Http404 from None
    except PolicyDenied as exc:
        return _denied(request, exc)
    if removal.was_this_device:
        return redirect("account_login")
    messages.success(
        request,
        ngettext(
            "“%(name)s” was removed and signed out of %(count)d session.",
            "“%(name)s” was removed and signed out of %(count)d sessions.",
            removal.sessions_ended,
        )
        % {"name": removal.device.display_name, "count": removal.sessions_ended},
    )
    return redirect("devices")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def lock(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.lock_account(user=request.user, request=request)
        except PolicyDenied as exc:
            return _denied(request, exc)
        return redirect("account_locked")
    return render(request, "devices/lock.html")


@never_cache
@require_GET
def locked(request: HttpRequest) -> HttpResponse:
    return render(request, "devices/locked.html")
