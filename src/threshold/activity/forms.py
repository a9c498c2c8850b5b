from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from threshold.activity.selectors import ActivityFilter, Show


class ActivityFilterForm(forms.Form):
    """The filters of Recent activity, read from the query string."""

    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            (Show.ALL, _("All activity")),
            (Show.SIGN_INS, _("Sign-ins only")),
            (Show.FAILURES, _("Failures only")),
            (Show.CHANGES, _("Changes only")),
        ],
    )
    # A date input sends and shows ISO dates whatever the language: no localised format here.
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date. Choose a later end date."))
        return data

    def filters(self) -> ActivityFilter:
        """The chosen filters; none at all while the form has errors."""
        if not self.is_valid():
            return ActivityFilter()
        data = self.cleaned_data
        return ActivityFilter(
            show=Show(data.get("show") or Show.ALL), start=data.get("start"), end=data.get("end")
        )

    def query(self) -> str:
        """The filters as a query string to carry onto the next page ("" when there are none)."""
        if not self.is_valid():
            return ""
        return urlencode({k: v for k, v in self.data.items() if k in self.fields and v})
