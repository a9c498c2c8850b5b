"""Cancelling a removal that waits (confirming it is the one second-method proof)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CancelRemovalForm(forms.Form):
    sign_out_everywhere = forms.BooleanField(
        label=_("This wasn't me: also sign out every session and ask every device for the second step again"),
        required=False,
        initial=True,
    )
