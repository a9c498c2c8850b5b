"""The form for signing in with a Temporary Access Pass."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
