from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RenameDeviceForm(forms.Form):
    name = forms.CharField(
        label=_("Device name"),
        max_length=80,
        required=False,
        help_text=_("Leave it empty to use the name of the browser and system."),
    )


class SignOutEverywhereForm(forms.Form):
    include_current = forms.BooleanField(label=_("Sign out of this browser too"), required=False)
