from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from threshold.activity import chart, selectors, services
from threshold.activity.forms import ActivityFilterForm
from threshold.activity.models import Verdict


@login_required
@require_GET
def recent_activity(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    cursor = request.GET.get("after", "")
    page = selectors.activity_page(request.user, filters=form.filters(), cursor=cursor)
    context = {
        "form": form,
        "page": page,
        "filter_query": form.query(),
        "first_page": not cursor,
        "time_zone": timezone.get_current_timezone_name(),
    }
    if not cursor:
        context["chart"] = chart.build(selectors.sign_in_days(request.user))
        context["countries"] = selectors.countries_seen(request.user)
    return render(request, "activity/recent_activity.html", context)


@login_required
@require_GET
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    item = selectors.activity_item(request.user, event_id)
    if item is None:
        raise Http404
    return render(
        request,
        "activity/event.html",
        {"item": item, "time_zone": timezone.get_current_timezone_name()},
    )


@login_required
@require_POST
def this_was_me(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        services.answer_sign_in(user=request.user, event_id=event_id, verdict=Verdict.ME, request=request)
    except services.NotYourSignIn:
        raise Http404 from None
    messages.success(request, _("Thank you. This sign-in is marked as yours."))
    return redirect(_back(request))


@login_required
@require_POST
def this_wasnt_me(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        services.answer_sign_in(user=request.user, event_id=event_id, verdict=Verdict.NOT_ME, request=request)
    except services.NotYourSignIn:
        raise Http404 from None
    return redirect("activity_secure", event_id=event_id)


@login_required
@require_GET
def secure_account(request: HttpRequest, event_id: int) -> HttpResponse:
    item = selectors.activity_item(request.user, event_id)
    if item is None or not item.is_sign_in:
        raise Http404
    return render(request, "activity/secure_account.html", {"item": item})


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "recent_activity"
