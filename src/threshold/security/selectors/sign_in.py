"""Which passkey this session proved, and when; the staff admin's bar (the rest of how a session
was proven lives in threshold.verification.sign_in)."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from threshold.core.decisions import Decision
from threshold.devices.selectors import uuids
from threshold.security.models import MethodKind, SignInMethod
from threshold.security.selectors.challenge import SECOND_STEP_SESSION_KEY
from threshold.security.selectors.methods import sign_in_methods_of_kind
from threshold.verification.sign_in import fresh_sign_in_seconds, signed_in_recently, vouched_reset


def passkey_proven_at(request: HttpRequest | None, user: Any) -> float | None:
    """When this session last proved one of ``user``'s passkeys or security keys, or None.

    Three proofs count: signing in with a passkey alone, a passkey as the second step after
    the password (our note, ``services.challenge.verify_second_step``), and confirming it's you with a
    passkey at a re-sign-in (allauth's record). An authenticator app, a text message, a
    recovery code, a Temporary Access Pass or an account recovery never do: none of them is
    bound to this site's address, so a look-alike site could relay them.
    """
    if request is None or not hasattr(request, "session") or user is None or user.pk is None:
        return None
    times: list[float] = []
    note = request.session.get(SECOND_STEP_SESSION_KEY)
    if (
        isinstance(note, dict)
        and note.get("user") == str(user.pk)
        and isinstance(note.get("at"), int | float)
    ):
        ids = uuids([str(note.get("method") or "")])
        if ids and SignInMethod.objects.filter(user=user, public_id=ids[0], kind=MethodKind.PASSKEY).exists():
            times.append(float(note["at"]))
    used = {
        record["id"]: float(record["at"])
        for record in get_authentication_records(request, user)
        if isinstance(record, dict)
        and record.get("method") == "mfa"
        and record.get("type") == "webauthn"
        and isinstance(record.get("id"), int)
        and isinstance(record.get("at"), int | float)
    }
    if used:
        kept = SignInMethod.objects.filter(
            user=user, kind=MethodKind.PASSKEY, authenticator_id__in=list(used)
        ).values_list("authenticator_id", flat=True)
        times.extend(used[pk] for pk in kept if pk is not None)
    return max(times) if times else None


def staff_access(request: HttpRequest, user: Any) -> Decision:
    """Whether this session may open the staff admin (``/staff/``), and if not, what to do.

    SECURITY: the staff admin can hand any account to someone else (an approved recovery),
    so a password is never enough: the account needs a passkey or security key, and this
    session must have proved it, whatever the person's two-step switch says. A session from
    a Temporary Access Pass or an account recovery is refused however it continued, as the
    pass or the recovery stood in for the methods that were lost.
    """
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Decision.deny("not_staff", str(_("This page is for Threshold's staff.")))
    if vouched_reset(request):
        return Decision.deny(
            "vouched_session",
            str(
                _(
                    "You signed in with a Temporary Access Pass or an account recovery. Sign out, then sign in "
                    "again with your passkey or security key to open the staff admin."
                )
            ),
        )
    if not sign_in_methods_of_kind(user, MethodKind.PASSKEY).exists():
        return Decision.deny(
            "no_passkey",
            str(
                _(
                    "The staff admin needs a passkey or security key on your account. Add one on Security info, "
                    "then sign in with it."
                )
            ),
        )
    if passkey_proven_at(request, user) is None:
        return Decision.deny(
            "not_proven_by_passkey",
            str(
                _(
                    "The staff admin needs a sign-in with your passkey or security key, and this one was made "
                    "without it. Confirm it's you with your passkey to continue."
                )
            ),
        )
    return Decision.allow()


def staff_change_is_fresh(request: HttpRequest, user: Any) -> bool:
    """Whether this session proved a passkey within the fresh-sign-in window (10 minutes).

    Every staff change needs it: a signed-in browser left open, or a copied session cookie,
    must not be enough to approve a recovery or change an account. The passkey alone is
    enough to confirm: it is the method a look-alike site cannot relay, and the session
    already proved two steps when it signed in (``staff_access``).
    """
    at = passkey_proven_at(request, user)
    return (
        at is not None
        and 0 <= time.time() - at < fresh_sign_in_seconds()
        and signed_in_recently(request, user)
    )
