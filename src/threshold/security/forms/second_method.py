"""Proving a second method: one code form and one passkey form for every flow that asks for one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

TRUST_DEVICE_LABEL = _("Don't ask again on this device for 30 days")


class SecondMethodCodeForm(forms.Form):
    """A code from an authenticator app, a text message or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
    trust_device = forms.BooleanField(label=TRUST_DEVICE_LABEL, required=False)

    def __init__(self, *args: Any, offer_trust: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not offer_trust:
            del self.fields["trust_device"]


class SecondMethodPasskeyForm(forms.Form):
    """The browser's answer from a passkey, posted by passkeys.js."""

    credential = forms.JSONField(widget=forms.HiddenInput)
    trust_device = forms.BooleanField(label=TRUST_DEVICE_LABEL, required=False)

    def __init__(self, *args: Any, offer_trust: bool = False, no_passkey_message: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not offer_trust:
            del self.fields["trust_device"]
        self.fields["credential"].error_messages.update(
            {"required": no_passkey_message, "invalid": no_passkey_message}
        )


SecondMethodForm = SecondMethodCodeForm | SecondMethodPasskeyForm
