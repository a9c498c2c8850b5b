from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.accounts.phones import parse_phone_number
from threshold.recovery.models import ClosureReason


class CloseAccountForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Close it after"),
        choices=[(30, _("30 days")), (60, _("60 days"))],
        coerce=int,
        initial=30,
        widget=forms.RadioSelect,
        help_text=_("Until then you can sign in and reopen it."),
    )
    reason = forms.ChoiceField(
        label=_("Why are you leaving? (optional)"),
        choices=[("", _("I'd rather not say")), *ClosureReason.choices],
        required=False,
    )


# --- Resetting a forgotten password ----------------------------------------------------------


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


class ResetPasskeyForm(forms.Form):
    """The second step with a passkey: the browser's answer, posted by passkeys.js."""

    credential = forms.JSONField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Your browser sent no passkey. Try again, or choose another way."),
            "invalid": _("Your browser sent no passkey. Try again, or choose another way."),
        },
    )


class NewPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )


class AccessPassSignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )
    access_pass = forms.CharField(
        label=_("Temporary Access Pass"),
        max_length=64,
        help_text=_("The pass you were given, such as 7KQM-3XPD-WN4T-HB2R. Spaces and dashes don't matter."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


# --- Account recovery ------------------------------------------------------------------------------


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
        from threshold.accounts.phones import parse_phone_number

        return parse_phone_number(self.cleaned_data["number"], None)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RecoveryRequestForm(forms.Form):
    """What a person with no sign-in method left can tell us, for an operator to compare."""

    account_email = forms.EmailField(
        label=_("Your account's email address"),
        max_length=254,
        help_text=_("The address you signed in with."),
    )
    contact_email = forms.EmailField(
        label=_("An email address where we can reach you"),
        max_length=254,
        help_text=_(
            "It can be the same address if you can still read its mail. We'll send a code to it first."
        ),
    )
    names = forms.CharField(label=_("The name or names on the account"), max_length=200, required=False)
    created = forms.CharField(
        label=_("Roughly when you created the account (month and year)"), max_length=40, required=False
    )
    places = forms.CharField(
        label=_("Where you usually signed in from (cities or countries)"), max_length=300, required=False
    )
    subscriptions = forms.CharField(
        label=_("Subscriptions or services you used with it"), max_length=300, required=False
    )
    other = forms.CharField(
        label=_("Anything else that shows the account is yours"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    CLAIMS = ("names", "created", "places", "subscriptions", "other")

    def claims(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "").strip() for name in self.CLAIMS}


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Note (the person sees it if you deny the request)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
