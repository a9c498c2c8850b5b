"""Password rules: length, an offline blocklist, context words and a strength floor.

No composition rules (NIST SP 800-63B). The blocklist merges Django's list of 20,000
common passwords with zxcvbn's 30,000 most frequent leaked passwords: 40,101 distinct
entries, compared case-insensitively.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path
from typing import Any

import django.contrib.auth
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from threshold.accounts.hashers import normalize_password
from threshold.orgs.policies import password_rules

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_SCORE = 2  # zxcvbn: 0 too guessable … 4 very unguessable


_ALNUM = re.compile(r"[\W_]+")


def _length_ok(password: str) -> bool:
    # The other rules stay quiet while the length rule refuses: one reason at a time.
    return MIN_LENGTH <= len(password) <= MAX_LENGTH


@cache
def blocklist() -> frozenset[str]:
    path = Path(django.contrib.auth.__file__).parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        common = {line.strip().lower() for line in handle if line.strip()}
    return frozenset(common | {p.lower() for p in FREQUENCY_LISTS["passwords"]})


def organization_rules(user: Any) -> tuple[int, list[str]]:
    """The minimum length (never below MIN_LENGTH) and banned words of the person's organisation."""
    if user is None or not getattr(user, "pk", None):
        return MIN_LENGTH, []
    minimum, words = password_rules(user)
    return max(MIN_LENGTH, minimum), words


class LengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        password = normalize_password(password)  # the rules judge what is hashed
        minimum, _words = organization_rules(user)
        if len(password) < minimum:
            raise ValidationError(
                ngettext(
                    "This password is too short: use at least %(min)d character.",
                    "This password is too short: use at least %(min)d characters.",
                    minimum,
                )
                % {"min": minimum},
                code="password_too_short",
            )
        if len(password) > MAX_LENGTH:
            raise ValidationError(
                _("This password is too long: use at most %(max)d characters.") % {"max": MAX_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Use %(min)d to %(max)d characters.") % {"min": MIN_LENGTH, "max": MAX_LENGTH}


class BlocklistValidator:
    def validate(self, password: str, user: Any = None) -> None:
        password = normalize_password(password)  # the rules judge what is hashed
        if _length_ok(password) and password.strip().lower() in blocklist():
            raise ValidationError(
                _(
                    "This password appears in lists of leaked passwords that attackers try first. "
                    "Choose something else, such as a few unrelated words."
                ),
                code="password_blocklisted",
            )
        if not _length_ok(password):
            return
        lowered = password.lower()
        banned = [word for word in organization_rules(user)[1] if word in lowered]
        if banned:
            raise ValidationError(
                _(
                    "This password contains “%(word)s”, which your organization doesn't allow in passwords. Choose something else."
                )
                % {"word": banned[0]},
                code="password_banned_word",
            )

    def get_help_text(self) -> str:
        return _("Don't use a common or leaked password.")


def context_words(user: Any) -> list[str]:
    """Words an attacker who knows the person would try: names and the parts of the email."""
    if user is None:
        return []
    words: list[str] = []
    for field in ("given_name", "family_name", "display_name"):
        value = getattr(user, field, "") or ""
        words += [w for w in re.split(r"[\s\-_.']+", value) if len(w) >= 3]
    email = getattr(user, "email", "") or ""
    if "@" in email:
        local, _at, domain = email.partition("@")
        words += [w for w in re.split(r"[\W_]+", local) if len(w) >= 3]
        words += [w for w in domain.split(".")[:-1] if len(w) >= 3]
    return list(dict.fromkeys(w.lower() for w in words))


class ContextWordsValidator:
    def validate(self, password: str, user: Any = None) -> None:
        password = normalize_password(password)  # the rules judge what is hashed
        if not _length_ok(password):
            return  # the length rule already says why
        lowered = password.lower()
        found = [word for word in context_words(user) if word in lowered]
        if not found:
            return
        rest = lowered
        for word in sorted(found, key=len, reverse=True):
            rest = rest.replace(word, "")
        # "Mostly": once every name or email part is taken out (repeats too, as in
        # "navy.navy.navy"), at most half of the letters and digits are left.
        if len(_ALNUM.sub("", rest)) * 2 <= len(_ALNUM.sub("", lowered)):
            raise ValidationError(
                _(
                    "This password is mostly your name or email address (“%(word)s”). Choose something unrelated to you."
                )
                % {"word": found[0]},
                code="password_context",
            )

    def get_help_text(self) -> str:
        return _("Don't use your name or email address.")


class StrengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        password = normalize_password(password)  # the rules judge what is hashed
        if len(password) > 64:
            return  # zxcvbn's cost grows with length; a password this long passes the floor anyway
        if not _length_ok(password) or password.strip().lower() in blocklist():
            return  # the length or blocklist rule already says why, in plainer words
        try:
            ContextWordsValidator().validate(password, user)
        except ValidationError:
            return  # so does the context rule
        result = zxcvbn(password, user_inputs=context_words(user))
        if result["score"] < MIN_SCORE:
            hint = result["feedback"].get("warning") or ""
            message = _("This password would be easy to guess.")
            if hint and get_language().startswith("en"):
                # zxcvbn's hints exist only in English.
                message += " " + hint
            message += " " + _("Add another word or two, or make it longer.")
            raise ValidationError(message, code="password_weak")

    def get_help_text(self) -> str:
        return _("Make it hard to guess: a few unrelated words work well.")
