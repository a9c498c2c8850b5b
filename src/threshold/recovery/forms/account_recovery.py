"""Forms for account recovery with a waiting period: the account, the proofs, the code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from threshold.accounts.phones import parse_phone_number


class AccountEmailForm(forms.Form):
    account_email = forms.EmailField(
        label=_("Your account's email address"),
        max_length=254,
        help_text=_("The address you sign in with."),
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )


class ProveEmailForm(forms.Form):
    address = forms.EmailField(
        label=_("An email address on your account"),
        max_length=254,
        help_text=_("Type the whole address. It can be the one you sign in with or another verified one."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class ProvePhoneForm(forms.Form):
    number = forms.CharField(
        label=_("A phone number on your account"),
        max_length=32,
        help_text=_("Type the whole number with its country code, like +44 7700 900123."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_number(self) -> str:
        return parse_phone_number(self.cleaned_data["number"], None)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
