from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from threshold.accounts import phones, photos
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


class PhotoForm(forms.Form):
    photo = forms.FileField(
        label=_("Choose a photo"),
        help_text=_(
            "JPEG, PNG, WebP or GIF, up to 5 MB. We crop it to a square and remove details "
            "such as location and camera from the file."
        ),
        widget=forms.FileInput(attrs={"accept": photos.ACCEPT_ATTRIBUTE}),
        error_messages={
            "required": _("Choose a photo to upload."),
            "empty": _("The file is empty. Choose a photo and try again."),
        },
    )

    def clean_photo(self) -> bytes:
        upload = self.cleaned_data["photo"]
        # One byte past the limit is enough to tell that it is too large.
        return upload.read(settings.PHOTO_MAX_BYTES + 1)


class PhoneNumberForm(forms.Form):
    region = forms.ChoiceField(
        label=_("Country or region"),
        required=False,
        choices=(),
        widget=forms.Select(attrs={"autocomplete": "tel-country-code"}),
    )
    number = forms.CharField(
        label=_("Phone number"),
        max_length=32,
        help_text=_(
            "We'll send a 6-digit code to this number by text message. Your provider may charge for it."
        ),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": _("Enter a phone number.")},
    )

    field_order = ["region", "number"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region_field = self.fields["region"]
        region_field.choices = [  # type: ignore[attr-defined]
            ("", _("Choose…")),
            *phones.region_choices(translation.get_language() or settings.LANGUAGE_CODE),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "number" in cleaned:
            try:
                cleaned["number"] = phones.parse_phone_number(cleaned["number"], cleaned.get("region"))
            except ValidationError as exc:
                self.add_error("number", exc)
        return cleaned


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
        error_messages={"required": _("Enter the 6-digit code from the text message.")},
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(r"[0-9]{6}", code):
            raise ValidationError(_("Enter the 6-digit code from the text message."), code="format")
        return code
