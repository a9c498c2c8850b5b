"""Confirming or cancelling a removal that waits."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
