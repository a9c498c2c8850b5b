"""Validation only. allauth's forms are extended through ``MFA_FORMS``/``ACCOUNT_FORMS``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from allauth.core import context
from allauth.mfa.base.forms import ReauthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm
from allauth.mfa.webauthn.forms import AddWebAuthnForm, LoginWebAuthnForm, ReauthenticateWebAuthnForm
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from threshold.accounts.allauth_forms import ChangePasswordForm as AccountsChangePasswordForm
from threshold.accounts.models import PhoneNumber
from threshold.core.errors import FreshSignInRequired, PolicyDenied
from threshold.security import services, totp, webauthn
from threshold.security.models import MethodKind


class AuthenticatorAppForm(ActivateTOTPForm):
    """allauth's set-up form for an authenticator app, with a name and a secret that holds still."""

    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        required=False,
        help_text=_("So you can tell it apart later, for example “Authenticator on my phone”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["code", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = context.request
        # allauth has just made a new secret; ours stays the same across reloads.
        self.secret = totp.setup_secret(request.session, self.user)
        self.fields["code"].label = _("Code from the app")
        self.fields["code"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code"})
        self.fields["code"].help_text = _("The 6-digit code your app shows now.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            services.check_may_add_method(
                user=self.user, request=context.request, kind=MethodKind.AUTHENTICATOR_APP
            )
        except PolicyDenied as exc:
            raise ValidationError(exc.decision.message, code=exc.decision.reason_code) from exc
        if not self.errors:
            totp.finish_setup(context.request.session, cleaned.get("name", "").strip())
        return cleaned


class ChangePasswordForm(AccountsChangePasswordForm):
    """The change-password form (accounts' take on allauth's), which also needs a sign-in
    from the last 10 minutes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # Sent to sign in again before typing anything (allauth's middleware answers
            # FreshSignInRequired with the re-sign-in page and comes back here).
            services.ensure_fresh_sign_in(request=context.request, user=self.user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            services.ensure_fresh_sign_in(request=context.request, user=self.user)
        except FreshSignInRequired as exc:
            # SECURITY: not raised on a POST, so the typed passwords are never parked in
            # the session to be replayed after the re-sign-in.
            raise ValidationError(
                _(
                    "Your sign-in is too old for this change. Reload this page and sign in again to change your password."
                ),
                code="fresh_sign_in",
            ) from exc
        return cleaned


class SecondStepForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
    trust_device = forms.BooleanField(label=_("Don't ask again on this device for 30 days"), required=False)


class RemoveMethodForm(forms.Form):
    sign_out_others = forms.BooleanField(
        label=_("Also sign out everywhere else (every other browser and device)"),
        required=False,
        help_text=_(
            "Choose this if you removed the method because a device was lost or someone else may have it."
        ),
    )


class TextMessageMethodForm(forms.Form):
    phone = forms.ModelChoiceField(
        label=_("Phone number"),
        queryset=PhoneNumber.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )

    def __init__(self, *args: Any, phones: QuerySet[PhoneNumber], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["phone"]
        field.queryset = phones  # type: ignore[attr-defined]
        field.label_from_instance = lambda phone: phone.number  # type: ignore[attr-defined]


# --- Passkeys -----------------------------------------------------------------------------


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
            services.check_may_add_method(user=self.user, request=context.request, kind=MethodKind.PASSKEY)
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
        services.check_passkey_counter(
            request=context.request, authenticator=authenticator, counter=webauthn.signature_counter(response)
        )
    except services.Refused as exc:
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


class CodeReauthenticateForm(ReauthenticateForm):
    """Confirm it's you with a code: allauth's checks, behind the second step's limit on wrong codes."""

    def clean_code(self) -> str:
        try:
            services.begin_code_reauthentication(user=self.user)
        except services.Refused as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        code: str = super().clean_code()
        services.code_reauthenticated(user=self.user)
        return code


class RenameMethodForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Enter a name."), code="required")
        return name


class PasskeyStepForm(forms.Form):
    """The second step with a passkey: the browser's answer, posted by passkeys.js."""

    credential = forms.JSONField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Your browser sent no passkey. Try again, or choose another way to sign in."),
            "invalid": _("Your browser sent no passkey. Try again, or choose another way to sign in."),
        },
    )
    trust_device = forms.BooleanField(label=_("Don't ask again on this device for 30 days"), required=False)


class ConfirmCodeForm(forms.Form):
    """Confirming a waiting removal with a code from one of the older methods."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class ConfirmPasskeyForm(forms.Form):
    """Confirming a waiting removal with one of the older passkeys (posted by passkeys.js)."""

    credential = forms.JSONField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Your browser sent no passkey. Try again, or choose another way."),
            "invalid": _("Your browser sent no passkey. Try again, or choose another way."),
        },
    )


class CancelRemovalForm(forms.Form):
    sign_out_everywhere = forms.BooleanField(
        label=_("This wasn't me: also sign out every session and ask every device for the second step again"),
        required=False,
        initial=True,
    )
