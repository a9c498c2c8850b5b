"""The session restriction orgs registers (``verification.restrictions``).

Two-step verification (or an admin's passkey) the organisation requires, and the methods an
admin asked to be set up again: during the grace period the person is asked once per sign-in and
may skip; after it, every page but the ones needed to set it up leads to the set-up page.
"""

from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from threshold.orgs import policies
from threshold.verification.restrictions import Restriction

ENROLMENT_ASKED = "orgs_enrolment_asked"


def _this_sign_in(request: HttpRequest) -> float:
    records = get_authentication_records(request, request.user)
    times = [float(r["at"]) for r in records if isinstance(r, dict) and isinstance(r.get("at"), int | float)]
    return min(times) if times else 0.0


def _set_up_pending(request: HttpRequest) -> bool:
    enrolment = policies.pending_enrolment(request.user)
    if enrolment is None:
        return False
    return not enrolment.may_skip or request.session.get(ENROLMENT_ASKED) != _this_sign_in(request)


def _send_to_set_up(request: HttpRequest) -> HttpResponse:
    enrolment = policies.pending_enrolment(request.user)
    if enrolment is None or not enrolment.may_skip:
        return redirect("orgs_set_up")
    # Asked once per sign-in while the grace period lasts; the set-up page may be skipped.
    request.session[ENROLMENT_ASKED] = _this_sign_in(request)
    next_url = request.get_full_path() if request.method == "GET" else reverse("overview")
    return redirect(f"{reverse('orgs_set_up')}?{urlencode({'next': next_url})}")


# Open: the set-up itself, signing out and in again, an admin's temporary password changed first,
# a phone number for text messages, the language, and the health check.
REQUIRED_SET_UP = Restriction(
    name="required_set_up",
    applies=_set_up_pending,
    page="orgs_set_up",
    send=_send_to_set_up,
    open_pages=frozenset(
        {"add_phone", "verify_phone", "resend_phone_code", "make_phone_primary", "remove_phone"}
    ),
    open_below=(
        "security_info",
        "mfa_index",
        "account_logout",
        "account_login",
        "account_reauthenticate",
        "account_change_password",
        "orgs_set_up",
        "set_language",
        "healthz",
    ),
)
