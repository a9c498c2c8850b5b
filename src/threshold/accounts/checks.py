"""Start-up checks for what the account features need from the machine."""

from __future__ import annotations

from typing import Any

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
