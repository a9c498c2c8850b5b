"""The session restrictions recovery registers (``verification.restrictions``)."""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from threshold.recovery.selectors.set_up import access_pass_still_valid
from threshold.verification.restrictions import Restriction
from threshold.verification.sign_in import ACCESS_PASS, access_pass_session_live, proof_of


def _closing(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_closing", False))


# SECURITY: closing ends every session, but signing in again during the window must still work
# so the owner can change their mind; every other page of such a session leads to the reopen
# page, so the account cannot be used until it is reopened. The account row is already loaded
# for ``request.user``, so this costs no query.
ACCOUNT_CLOSING = Restriction(
    name="account_closing",
    applies=_closing,
    page="account_reopen",
    open_below=("account_reopen", "account_logout", "set_language"),
)


def _pass_session(request: HttpRequest) -> bool:
    return proof_of(request).vouched_by == ACCESS_PASS


def _pass_ended(request: HttpRequest) -> bool:
    return _pass_session(request) and (
        not access_pass_session_live(request) or not access_pass_still_valid(proof_of(request).access_pass)
    )


def _end_pass_session(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(
        request, _("Your Temporary Access Pass no longer works. Sign in with the method you set up.")
    )
    return redirect("account_login")


# The session a pass signed in ends when the pass expires or is revoked, whatever the page.
ACCESS_PASS_ENDED = Restriction(
    name="access_pass_ended",
    applies=_pass_ended,
    page="account_login",
    send=_end_pass_session,
)

# SECURITY: a Temporary Access Pass proves less than the person's own methods would (someone
# else issued it and saw it), so its session may only add what the person lost: every other page
# leads to the set-up page, POSTs included, which therefore change nothing. Costs nothing outside
# such sessions (the session is already loaded) and one indexed query per request inside one.
ACCESS_PASS_SESSION = Restriction(
    name="access_pass",
    applies=_pass_session,
    page="recovery_set_up",
    # allauth's method pages return to its overview, which is Security info.
    open_pages=frozenset({"security_info", "account_logout", "access_pass_sign_in", "mfa_index"}),
    open_below=(
        "recovery_set_up",
        "security_add_method",
        "security_recovery_codes",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "set_language",
    ),
)
