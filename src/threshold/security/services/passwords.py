"""A password changed, reset or removed (a passwordless account)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from threshold.activity.services import record_event
from threshold.core.decisions import Decision
from threshold.core.errors import Refused
from threshold.devices.models import TrustReason
from threshold.devices.selectors import session_key_of
from threshold.devices.services import end_sessions, revoke_trust
from threshold.orgs import policies
from threshold.orgs.policies import Action
from threshold.security.selectors.methods import passwordless_passkeys
from threshold.security.services.guard_rails import has_password, settings_for_update
from threshold.verification.fresh_sign_in import ensure_fresh_sign_in


def password_removal_decision(*, user: Any) -> Decision:
    """Whether the person may remove their password now, and if not, why."""
    decision = policies.evaluate(user, Action.PASSWORD_REMOVE)
    if not decision.allowed:
        return decision
    if not has_password(user):
        return Decision.deny("no_password", _("Your account has no password."))
    if not passwordless_passkeys(user).exists():
        return Decision.deny(
            "no_passkey",
            _("Add a passkey that signs you in on its own first: without a password, it is how you sign in."),
        )
    return Decision.allow()


def remove_password(*, user: Any, request: HttpRequest | None) -> int:
    """Make the account passwordless; returns how many other sessions were signed out.

    As with a password change, every other session is signed out and trusted devices are
    forgotten: whoever knew the old password must not keep a way in.

    SECURITY: not a replacement that waits. It removes no second-step method, so the owner's
    older methods still stand between anyone and the account; and a password, unlike those
    methods, comes back by a reset through the owner's email address. Changing the password
    (which also does not wait) already gives whoever got in the same reach.
    """
    policies.require(user, Action.PASSWORD_REMOVE, request=request)
    ensure_fresh_sign_in(request=request, user=user)
    with transaction.atomic():
        # The same lock as removing a method: the last passkey cannot go at the same moment.
        settings_for_update(user)
        decision = password_removal_decision(user=user)
        if not decision.allowed:
            raise Refused(decision.message, code=decision.reason_code)
        user.set_unusable_password()
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "password_changed_at"])
        if request is not None and hasattr(request, "session"):
            # The session is bound to the password's hash; this one stays signed in.
            update_session_auth_hash(request, user)
        ended = end_sessions(user=user, keep=session_key_of(request))
        forgotten = revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        record_event(
            "account:password:remove",
            user=user,
            request=request,
            details={"sessions_ended": ended, "trusted_devices_forgotten": forgotten},
        )
    return ended


def note_password_changed(*, request: HttpRequest | None, user: Any) -> None:
    """After a password change or set: sign out every other session, forget trusted devices, alert."""
    with transaction.atomic():
        ended = end_sessions(user=user, keep=session_key_of(request))
        forgotten = revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        _forget_wrong_passwords(user)
        record_event(
            "account:password:change",
            user=user,
            request=request,
            details={"sessions_ended": ended, "trusted_devices_forgotten": forgotten},
        )


def note_password_reset(*, request: HttpRequest | None, user: Any) -> tuple[int, int]:
    """After a password reset: no session and no trusted device from before survives.

    Returns how many sessions ended and how many trusted devices were forgotten.
    """
    with transaction.atomic():
        ended = end_sessions(user=user)
        forgotten = revoke_trust(user=user, request=request, reason=TrustReason.PASSWORD_CHANGED)
        _forget_wrong_passwords(user)
    return ended, forgotten


def _forget_wrong_passwords(user: Any) -> None:
    """A new password: the wrong guesses at the old one no longer count, and a stop of
    password sign-in (accounts.services.note_password_failed) ends."""
    get_user_model().objects.filter(pk=user.pk, failed_sign_ins__gt=0).update(failed_sign_ins=0)
    user.failed_sign_ins = 0
