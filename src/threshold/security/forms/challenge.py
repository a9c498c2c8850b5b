"""The second step at sign-in, and confirming it's you with a code."""

from __future__ import annotations

from allauth.mfa.base.forms import ReauthenticateForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.core.errors import Refused
from threshold.security.services.challenge import begin_code_reauthentication, code_reauthenticated


class SecondStepForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
    trust_device = forms.BooleanField(label=_("Don't ask again on this device for 30 days"), required=False)


class CodeReauthenticateForm(ReauthenticateForm):
    """Confirm it's you with a code: allauth's checks, behind the second step's limit on wrong codes."""

    def clean_code(self) -> str:
        try:
            begin_code_reauthentication(user=self.user)
        except Refused as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        code: str = super().clean_code()
        code_reauthenticated(user=self.user)
        return code


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
