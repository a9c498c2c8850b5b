"""Forms for resetting a forgotten password (the new password's form serves account recovery too)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.accounts.phones import parse_phone_number


class ResetStartForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("The email address you sign in with."),
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class ResetSendForm(forms.Form):
    """Where the code should go: an email address of the account, or one of its phone numbers."""

    way = forms.ChoiceField(
        label=_("Send it to"),
        choices=[
            ("email", _("An email address on your account")),
            ("phone", _("A phone number on your account")),
        ],
        initial="email",
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        required=False,
        help_text=_("The whole number, with its country code, like +44 7700 900123."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        way = cleaned.get("way")
        if way == "email":
            if not cleaned.get("email"):
                self.add_error("email", _("Enter the email address to send the code to."))
            else:
                cleaned["target"] = cleaned["email"].strip().lower()
        elif way == "phone":
            raw = cleaned.get("phone", "")
            try:
                cleaned["target"] = parse_phone_number(raw, None)
            except ValidationError as exc:
                self.add_error("phone", exc)
        return cleaned


class ResetCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
