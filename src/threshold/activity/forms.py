from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from threshold.activity.selectors import ActivityFilter, Show

EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)


class EventDateField(forms.DateField):
    """A day to filter security events by (Recent activity, the console's logs), within a sane range.

    SECURITY: a day near either end of the calendar overflows when its next day or its UTC instant
    is worked out; it is refused here, with the form's own error, like any other bad date.
    """

    def __init__(self, **kwargs: Any) -> None:
        # A date input sends and shows ISO dates whatever the language: no localised format here.
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                attrs={"type": "date", "min": EARLIEST_DATE.isoformat(), "max": LATEST_DATE.isoformat()},
                format="%Y-%m-%d",
            ),
        )
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError(
                _("Choose a date between %(earliest)s and %(latest)s."),
                code="out_of_range",
                params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
            )


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
    start = EventDateField(label=_("From"), required=False)
    end = EventDateField(label=_("To"), required=False)

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
