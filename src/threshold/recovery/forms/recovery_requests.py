"""Forms for a recovery request reviewed by our support team, and the staff decision on it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
