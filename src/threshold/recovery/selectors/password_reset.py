"""Reads for "Can't sign in?" and resetting a forgotten password."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from threshold.accounts.models import PhoneNumber, User
from threshold.security.models import MethodKind
from threshold.security.selectors.challenge import SecondStepOption, second_step_options


@dataclass(frozen=True)
class RecoveryWay:
    url_name: str
    title: Promise
    description: Promise


# The ways back into an account, in the order the page lists them. A way is shown only
# once its page exists (its url name resolves), like the portal's navigation.
RECOVERY_WAYS = [
    RecoveryWay(
        "recover_password",
        _("I forgot my password"),
        _("Get a code by email or text message, then choose a new password."),
    ),
    RecoveryWay(
        "recover_second_method",
        _("I lost my sign-in methods and recovery codes"),
        _(
            "Prove an email address and a phone number of your account; after a few days' wait, "
            "choose a new password."
        ),
    ),
    RecoveryWay(
        "recover_request",
        _("I can't use any of my sign-in methods"),
        _("Ask for your account back: we check it's you, which takes a few days."),
    ),
    RecoveryWay(
        "access_pass_sign_in",
        _("I have a Temporary Access Pass"),
        _("Sign in with the pass your organization's admin gave you."),
    ),
]


def recovery_ways() -> list[tuple[RecoveryWay, str]]:
    """Each way that exists, with its address."""
    ways = []
    for way in RECOVERY_WAYS:
        try:
            ways.append((way, reverse(way.url_name)))
        except NoReverseMatch:
            continue  # that way is not built yet
    return ways


# --- Resetting a forgotten password ----------------------------------------------------------

RESET_SESSION_KEY = "threshold.recovery.password_reset"
RESET_LINK_PURPOSE = "password_reset"


@dataclass
class ResetFlow:
    """Where one browser is in a password reset, kept in its (server-side) session.

    SECURITY: ``user_id`` is None when the email typed has no account, and the flow then
    goes on exactly as if it had one; it lives only in the server-side session, never in
    a page or an address, so nothing the browser sees tells the two apart.
    """

    email: str
    user_id: int | None
    started_at: float
    target: str = ""  # where the person asked for the code: an email address or an E.164 number
    code_ok_at: float = 0.0  # when the code (or the email's link) was right
    issued_at: str = ""  # when that code was sent (ISO 8601)
    second_step: str = ""  # the kind of second method proven, when two-step verification is on

    @property
    def by_email(self) -> bool:
        return "@" in self.target

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def reset_flow(request: Any) -> ResetFlow | None:
    """This browser's reset, or None when there is none (or it was left too long)."""
    kept = request.session.get(RESET_SESSION_KEY) if hasattr(request, "session") else None
    if not isinstance(kept, dict):
        return None
    try:
        flow = ResetFlow(**kept)
    except TypeError:
        return None
    now = time.time()
    # The code itself expires on its own; a flow is a browser's state and is kept as long
    # as the longest try window, and a proven code for the few minutes the last steps take.
    if now - flow.started_at > settings.PHONE_CODE_TRY_WINDOW:
        return None
    if flow.code_ok_at and now - flow.code_ok_at > settings.PASSWORD_RESET_STEP_SECONDS:
        return None
    return flow


def account_for_reset(email: str) -> User | None:
    """The account that signs in with, or has verified, ``email``; None for any other address.

    A closed or turned-off account cannot be reset.
    """
    email = email.strip()
    if not email:
        return None
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .order_by("-primary", "pk")
        .first()
    )
    user = address.user if address is not None else None
    if user is None or not user.is_active or getattr(user, "closed_at", None) is not None:
        return None
    return user


def is_reset_target(user: Any, target: str) -> bool:
    """Whether ``target`` is a verified email address or verified phone number of the account."""
    if user is None or not target:
        return False
    if "@" in target:
        return EmailAddress.objects.filter(user=user, email__iexact=target, verified=True).exists()
    return PhoneNumber.objects.filter(user=user, number=target, verified_at__isnull=False).exists()


def reset_second_step_options(user: Any, flow: ResetFlow) -> list[SecondStepOption]:
    """The account's ways to prove it's them besides the reset code.

    SECURITY: the phone that received the reset code is not offered: a second code to the
    same phone would be the same factor twice.
    """
    return [
        option
        for option in second_step_options(user)
        if not (
            option.kind == MethodKind.TEXT_MESSAGE
            and option.method is not None
            and option.method.phone is not None
            and option.method.phone.number == flow.target
        )
    ]
