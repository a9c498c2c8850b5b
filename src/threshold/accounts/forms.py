from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from threshold.accounts.models import TIME_ZONES


class SignupDetailsForm(forms.Form):
    """The names asked for at sign-up, next to allauth's email and password."""

    given_name = forms.CharField(
        label=_("First name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Last name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )

    field_order = ["given_name", "family_name"]

    def signup(self, request: Any, user: Any) -> None:
        user.given_name = self.cleaned_data.get("given_name", "").strip()
        user.family_name = self.cleaned_data.get("family_name", "").strip()
        user.save(update_fields=["given_name", "family_name"])


def _clean_name(value: str) -> str:
    value = " ".join(value.split())
    if any(ord(ch) < 32 or ch in "<>" for ch in value):
        raise forms.ValidationError(_("Names cannot contain control characters or < and >."))
    return value


class ProfileForm(forms.Form):
    given_name = forms.CharField(
        label=_("First name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Last name"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=120,
        required=False,
        help_text=_("How your name appears to others. Leave empty to use your first and last name."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )

    def clean_given_name(self) -> str:
        return _clean_name(self.cleaned_data["given_name"])

    def clean_family_name(self) -> str:
        return _clean_name(self.cleaned_data["family_name"])

    def clean_display_name(self) -> str:
        return _clean_name(self.cleaned_data["display_name"])


class RegionForm(forms.Form):
    locale = forms.ChoiceField(label=_("Language"), choices=())
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=[(tz, tz.replace("_", " ")) for tz in TIME_ZONES]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["locale"].choices = list(settings.LANGUAGES)  # type: ignore[attr-defined]
