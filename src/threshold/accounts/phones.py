"""Phone numbers: parsing to E.164, display, and the regions a person can choose from."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from threshold.core.context import country_name

# SECURITY: codes go only to numbers that can receive a text message. Premium-rate,
# shared-cost and toll-free numbers are refused outright: sending codes to them is how
# "SMS pumping" fraud bills the sender.
TEXTABLE_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)


def parse_phone_number(raw: str, region: str | None) -> str:
    """The number in E.164 (``+34612345678``); raises ValidationError saying what is wrong."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    if not text.startswith("+") and not text.startswith("00") and not region:
        raise ValidationError(
            _("Choose the country or region of this number, or enter it with its country code, like +44."),
            code="region_required",
        )
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("This doesn't look like a phone number. Enter digits only, like +44 7700 900123."),
            code="invalid",
        ) from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("%(number)s isn't a valid phone number. Check the digits and the country or region.")
            % {"number": text},
            code="invalid",
        )
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        raise ValidationError(
            _("This looks like a landline, which can't receive text messages. Enter a mobile number."),
            code="landline",
        )
    if kind not in TEXTABLE_TYPES:
        raise ValidationError(
            _(
                "This number can't receive text messages from us (for example a toll-free or premium-rate number). Enter a mobile number."
            ),
            code="not_textable",
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_phone_number(e164: str) -> str:
    """The number in international notation with spaces, as people write it."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def phone_number_ending(e164: str) -> str:
    """The last two digits: enough for the owner to recognise a number in an email.

    SECURITY: mail is stored and forwarded outside our control, so alerts never carry a
    whole number (the way Microsoft and Google show ``••••••••23``).
    """
    return e164[-2:]


@lru_cache(maxsize=8)
def region_choices(language: str) -> list[tuple[str, str]]:
    """Every region with a calling code, named in ``language``: ``("ES", "Spain (+34)")``."""
    choices = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        code = phonenumbers.country_code_for_region(region)
        choices.append((region, f"{country_name(region, language)} (+{code})"))
    return sorted(choices, key=lambda choice: choice[1].casefold())


def default_region(locale: str, country: str) -> str:
    """The region to assume: the one in the person's locale (``en-GB``), else where they are."""
    parts = locale.replace("_", "-").split("-")
    for candidate in (parts[1] if len(parts) > 1 else "", country):
        if candidate.upper() in phonenumbers.SUPPORTED_REGIONS:
            return candidate.upper()
    return ""
