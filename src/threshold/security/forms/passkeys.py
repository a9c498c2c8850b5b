"""allauth's passkey forms, in Threshold's words and with its checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from allauth.core import context
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.forms import AddWebAuthnForm, LoginWebAuthnForm, ReauthenticateWebAuthnForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.core.errors import PolicyDenied, Refused
from threshold.security import webauthn
from threshold.security.models import MethodKind
from threshold.security.services.method_use import check_passkey_counter
from threshold.security.services.methods import check_may_add_method


class AddPasskeyForm(AddWebAuthnForm):
    """allauth's form for a new passkey, with our words, our rules and the person's choice.

    The browser makes the credential before the form is posted; allauth checks it, and
    we check policy and a recent sign-in before it is saved.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.fields["name"]
        name.label = _("Name")
        name.max_length = 80
        name.help_text = _("So you can tell it apart later, for example “iPhone” or “Blue security key”.")
        name.widget.attrs.update({"autocomplete": "off", "maxlength": "80"})
        if "passwordless" in self.fields:
            choice = self.fields["passwordless"]
            choice.label = _("Use it to sign in without a password (a passkey)")
            choice.help_text = _(
                "Your device checks it's you with your fingerprint, face, PIN or screen lock. "
                "Leave this off for a security key without a PIN: it then works as your second step after the password."
            )
            choice.initial = True

    def clean_name(self) -> str:
        return str(super().clean_name())[:80]

    def clean(self) -> dict[str, Any]:
        try:
            check_may_add_method(user=self.user, request=context.request, kind=MethodKind.PASSKEY)
        except PolicyDenied as exc:
            raise ValidationError(exc.decision.message, code=exc.decision.reason_code) from exc
        chose_passkey = bool(self.cleaned_data.get("passwordless"))
        if (
            chose_passkey
            and webauthn.registration_user_verified(self.cleaned_data.get("credential")) is False
        ):
            raise ValidationError(
                _(
                    "This key didn't check it's you with a PIN, fingerprint or face, so it can't sign you in on its own. "
                    "Untick “Use it to sign in without a password” to add it as a security key for your second step."
                ),
                code="user_not_verified",
            )
        with _in_passkey_words(
            _("Your passkey couldn't be added. Try again, or use another passkey or security key.")
        ):
            cleaned = super().clean() or {}
        if not self.errors:
            webauthn.remember_choice(context.request.session, passwordless=bool(cleaned.get("passwordless")))
        return cleaned


@contextmanager
def _in_passkey_words(message: Any) -> Iterator[None]:
    """allauth words a failed passkey like a wrong code ("check the time on your phone")."""
    try:
        yield
    except ValidationError as exc:
        if getattr(exc, "code", None) == "incorrect_code":
            raise ValidationError(message, code="incorrect_code") from exc
        raise


def _check_counter(credential: Any, authenticator: Authenticator) -> None:
    response = webauthn.parse_assertion(credential)
    if response is None:
        raise ValidationError(_("That passkey didn't work. Try again."), code="incorrect_code")
    try:
        check_passkey_counter(
            request=context.request, authenticator=authenticator, counter=webauthn.signature_counter(response)
        )
    except Refused as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


class PasskeySignInForm(LoginWebAuthnForm):
    """Sign in with a passkey alone: allauth's checks, then the person-verified flag and the counter."""

    def clean_credential(self) -> Authenticator:
        credential = self.cleaned_data["credential"]
        response = webauthn.parse_assertion(credential)
        if response is not None and not webauthn.user_verified(response):
            # SECURITY: a passkey alone must be two factors: the device, and the PIN or
            # biometrics that unlock it. allauth refuses this too; we say why.
            raise ValidationError(
                _(
                    "Your passkey didn't check it was you (with a fingerprint, face, PIN or screen lock), "
                    "so it can't sign you in on its own. Sign in with your password instead."
                ),
                code="user_not_verified",
            )
        with _in_passkey_words(
            _(
                "That passkey didn't sign you in. Try again, use another passkey, or sign in with your password."
            )
        ):
            authenticator: Authenticator = super().clean_credential()
        _check_counter(credential, authenticator)
        return authenticator


class PasskeyReauthenticateForm(ReauthenticateWebAuthnForm):
    """Confirm it's you with a passkey: allauth's checks, then the counter."""

    def clean_credential(self) -> Authenticator:
        credential = self.cleaned_data["credential"]
        with _in_passkey_words(_("That passkey didn't work. Try again, or confirm it's you another way.")):
            authenticator: Authenticator = super().clean_credential()
        _check_counter(credential, authenticator)
        return authenticator
