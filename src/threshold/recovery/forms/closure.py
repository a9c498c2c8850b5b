"""The form for closing the account."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

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
