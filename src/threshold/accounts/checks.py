"""Start-up checks for what the account features need from the machine."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from PIL import features


@register()
def image_codecs(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Profile photos need Pillow to read JPEG, PNG, GIF and WebP and to write WebP."""
    missing = [name for name in ("jpg", "zlib", "webp") if not features.check(name)]
    return [
        Error(
            f"Pillow was built without {name} support; profile photos need it. "
            "Install the Pillow wheel from PyPI (it includes every codec).",
            id="threshold.E201",
        )
        for name in missing
    ]


MAX_EMAIL_CODE_SECONDS = 3600


@register()
def email_code_lifetimes(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A code mailed for any purpose works an hour at most (threshold.accounts.codes)."""
    return [
        Error(
            f"EMAIL_CODE_TTL[{purpose!r}] is {seconds} seconds; a code sent by email may work "
            f"for {MAX_EMAIL_CODE_SECONDS} seconds (an hour) at most.",
            id="threshold.E202",
        )
        for purpose, seconds in getattr(settings, "EMAIL_CODE_TTL", {}).items()
        if not 0 < int(seconds) <= MAX_EMAIL_CODE_SECONDS
    ]
