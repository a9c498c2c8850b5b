"""allauth's hooks, each a hand-off to our services.

``MFAAdapter`` is allauth.mfa's adapter (``MFA_ADAPTER``). The functions below it are what
the account adapter (threshold.accounts.adapter) asks through threshold.accounts.registry.
"""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from threshold.core import crypto
from threshold.core.context import context_of
from threshold.security import totp
from threshold.security.services.methods import can_remove_authenticator
from threshold.verification import fresh_sign_in

# Bound to every value allauth.mfa stores through the adapter (threshold.core.crypto).
MFA_PURPOSE = "mfa"


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": _(
            "This sign-in method can't be removed now. Open Security info to see why and what to do."
        ),
        "incorrect_code": _("That code didn't work. Check the time on your phone and try the newest code."),
    }

    def encrypt(self, text: str) -> str:
        """SECURITY: what allauth stores to read back (an authenticator app's secret) is sealed
        with AES-256-GCM under THRESHOLD_ENCRYPTION_KEYS, so a copy of the database alone does
        not give anyone the codes."""
        return crypto.encrypt(text, purpose=MFA_PURPOSE)

    def decrypt(self, encrypted_text: str) -> str:
        """Opens what ``encrypt`` sealed, with whichever configured key sealed it."""
        return crypto.decrypt(encrypted_text, purpose=MFA_PURPOSE)

    def build_totp_svg(self, url: str) -> str:
        """The QR code drawn by segno (shown as a data: URI under our CSP)."""
        return totp.qr_svg(url)

    def generate_authenticator_name(self, user: AbstractBaseUser, type: Authenticator.Type) -> str:
        """A first name for a new passkey: the browser and system it was made on."""
        if type != Authenticator.Type.WEBAUTHN:
            return super().generate_authenticator_name(user, type)
        ctx = context_of(context.request)
        if ctx.user_agent and (ctx.device.browser or ctx.device.os):
            return gettext("Passkey on %(device)s") % {"device": ctx.device.label}
        return gettext("Passkey")

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """The last-method guard and organisation policy, for allauth's own pages."""
        return can_remove_authenticator(authenticator, request=context.request)


def login_stages(stages: list[str]) -> list[str]:
    """Our two-step verification stage takes the place of allauth.mfa's."""
    ours = "threshold.security.stages.TwoStepStage"
    return [ours if path == "allauth.mfa.stages.AuthenticateStage" else path for path in stages]


def reauthentication_required(**kwargs: Any) -> bool:
    """A sensitive change needs a sign-in within the last 10 minutes, whichever app asks."""
    return fresh_sign_in.reauthentication_required(context.request)
