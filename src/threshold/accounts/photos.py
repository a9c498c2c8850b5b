"""The profile photo pipeline: pure functions from uploaded bytes to a clean square image.

Nothing here touches the database. ``prepare_photo`` either returns the bytes to store or
raises ``PhotoError`` with a message for the person; the service stores the result.

SECURITY: an upload is hostile until proven otherwise. The checks run cheapest first and
before any pixel is decoded: size, real format from the leading bytes (never the file
name or the browser's content type), the container's structure up to its end marker
(so nothing can hide after the image), markers of HTML, script or PHP anywhere in the
bytes, and the pixel count from the header. Only then is the first frame decoded, turned
upright by its EXIF orientation, cropped to the centre, scaled and re-encoded from raw
pixels into a new file that carries no metadata at all (no EXIF, GPS, XMP, ICC profile
or comments). The original bytes are never stored or served.

The stored image is WebP: at 256x256 it is about a third smaller than a JPEG of the same
quality and a fraction of a PNG, it keeps transparency (which JPEG cannot), every
browser the portal supports shows it, and Pillow's WebP encoder writes no metadata
chunks unless asked to. The photo is never put into email, where WebP support is patchy.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

CONTENT_TYPE = "image/webp"
OUTPUT_FORMAT = "WEBP"
OUTPUT_QUALITY = 85
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif"

# More chunks, segments or blocks than this is not a photo; it bounds the structure walk.
_MAX_STRUCTURE_STEPS = 100_000
# Cameras and phones store preview images as further JPEGs after the first (MPF).
_MAX_CHAINED_JPEGS = 8

# SECURITY: markers that make a file renderable as a web page or runnable by a PHP
# interpreter if it were ever served or included as something other than an image. Each
# needs a following delimiter, so random bytes in compressed image data almost never
# match (about one photo in a million). ZIP is caught by its end-of-archive record,
# which ZIP readers look for only near the end of a file.
_PAYLOAD_MARKERS = re.compile(
    rb"<script[\s>/]|<\?php\s|<html[\s>]|<body[\s>]|<iframe[\s>/]|<!doctype\s+html|javascript:",
    re.IGNORECASE,
)
_ZIP_END_RECORD = b"PK\x05\x06"
_ZIP_TAIL = 65_535 + 22
# In JPEG entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte), 0xD0-0xD7 (a
# restart marker) or more 0xFF fill bytes; anything else is the next real marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


class PhotoError(Exception):
    """An upload that cannot become a profile photo, with a message for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


def _malformed() -> PhotoError:
    return PhotoError(
        "malformed",
        _("This image file is damaged or incomplete. Open it in a photo app, save it again and retry."),
    )


def _too_many_pixels(max_pixels: int) -> PhotoError:
    return PhotoError(
        "too_many_pixels",
        _("This image has too many pixels (over %(megapixels)s million). Choose a smaller image.")
        % {"megapixels": f"{max_pixels / 1_000_000:g}"},
    )


def sniff_format(data: bytes) -> str | None:
    """The image format named by the file's leading bytes, if it is one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def content_type_of(data: bytes) -> str:
    """The Content-Type for stored photo bytes, read from the bytes themselves."""
    return {
        "WEBP": "image/webp",
        "PNG": "image/png",
        "JPEG": "image/jpeg",
        "GIF": "image/gif",
    }.get(sniff_format(data) or "", "application/octet-stream")


# --- Where each container ends ----------------------------------------------------------


def _png_end(data: bytes) -> int:
    pos = 8
    for _step in range(_MAX_STRUCTURE_STEPS):
        if pos + 8 > len(data):
            raise _malformed()
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type = data[pos + 4 : pos + 8]
        pos += 12 + length
        if pos > len(data):
            raise _malformed()
        if chunk_type == b"IEND":
            return pos
    raise _malformed()


def _gif_skip_sub_blocks(data: bytes, pos: int) -> int:
    for _step in range(_MAX_STRUCTURE_STEPS * 10):
        if pos >= len(data):
            raise _malformed()
        size = data[pos]
        pos += 1
        if size == 0:
            return pos
        pos += size
    raise _malformed()


def _gif_end(data: bytes) -> int:
    if len(data) < 13:
        raise _malformed()
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 * (2 ** ((flags & 0x07) + 1))
    for _step in range(_MAX_STRUCTURE_STEPS):
        if pos >= len(data):
            raise _malformed()
        block = data[pos]
        pos += 1
        if block == 0x3B:  # trailer
            return pos
        if block == 0x21:  # extension: label, then sub-blocks
            pos = _gif_skip_sub_blocks(data, pos + 1)
        elif block == 0x2C:  # image descriptor, optional local colour table, LZW size, data
            if pos + 9 > len(data):
                raise _malformed()
            flags = data[pos + 8]
            pos += 9
            if flags & 0x80:
                pos += 3 * (2 ** ((flags & 0x07) + 1))
            pos = _gif_skip_sub_blocks(data, pos + 1)
        else:
            raise _malformed()
    raise _malformed()


def _webp_end(data: bytes) -> int:
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data) or end < 12:
        raise _malformed()
    return end


def _one_jpeg_end(data: bytes, start: int) -> int:
    pos = start + 2  # after SOI
    size = len(data)
    for _step in range(_MAX_STRUCTURE_STEPS):
        if pos >= size or data[pos] != 0xFF:
            raise _malformed()
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= size:
            raise _malformed()
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image
            return pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        if pos + 2 > size:
            raise _malformed()
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise _malformed()
        pos += length
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next marker
            found = _JPEG_NEXT_MARKER.search(data, pos)
            if found is None:
                raise _malformed()
            pos = found.start()
    raise _malformed()


def _jpeg_end(data: bytes) -> int:
    end = _one_jpeg_end(data, 0)
    # Multi-picture JPEGs (camera previews, depth maps) chain whole JPEGs after the first.
    for _image in range(_MAX_CHAINED_JPEGS):
        if not data.startswith(b"\xff\xd8\xff", end):
            break
        end = _one_jpeg_end(data, end)
    return end


_END_OF: dict[str, Callable[[bytes], int]] = {
    "PNG": _png_end,
    "GIF": _gif_end,
    "WEBP": _webp_end,
    "JPEG": _jpeg_end,
}


def image_end(data: bytes, image_format: str) -> int:
    """The offset just past the image's own end marker; raises PhotoError if there is none."""
    return _END_OF[image_format](data)


def refuse_hidden_content(data: bytes, image_format: str) -> None:
    """Refuse polyglots: bytes after the image's end, or web page, script or PHP markers inside."""
    end = image_end(data, image_format)
    trailing = data[end:]
    if trailing.strip(b"\x00"):
        raise PhotoError(
            "trailing_data",
            _(
                "This file has extra data after the image, so it can't be used as a photo. "
                "Export it again as a plain JPEG, PNG, WebP or GIF image."
            ),
        )
    if _PAYLOAD_MARKERS.search(data) or _ZIP_END_RECORD in data[-_ZIP_TAIL:]:
        raise PhotoError(
            "hidden_content",
            _(
                "This file contains web page, script or archive content as well as an image, "
                "so it can't be used as a photo. Export it again as a plain image."
            ),
        )


# --- Decoding and re-encoding -------------------------------------------------------------


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert pixels from an embedded colour profile to sRGB, so dropping the profile keeps colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, target, outputMode=output_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unusable profile: keep the pixels as they are
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _normalise_mode(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale down to 8 bits
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if _has_alpha(image):
        image = image.convert("RGBA")
        alpha_low, _alpha_high = image.getextrema()[3]  # type: ignore[misc]
        if alpha_low == 255:  # fully opaque after all
            image = image.convert("RGB")
        return image
    return image.convert("RGB")


def prepare_photo(data: bytes, *, max_bytes: int, max_pixels: int, size: int) -> bytes:
    """Check an upload and return a metadata-free ``size`` x ``size`` WebP of its first frame."""
    if not data:
        raise PhotoError("empty", _("The file is empty. Choose a photo and try again."))
    if len(data) > max_bytes:
        raise PhotoError(
            "too_large",
            _("This file is larger than %(megabytes)d MB. Choose a smaller photo.")
            % {"megabytes": max_bytes // (1024 * 1024)},
        )
    image_format = sniff_format(data)
    if image_format is None:
        raise PhotoError(
            "unsupported",
            _(
                "This file isn't a JPEG, PNG, WebP or GIF image (SVG and other formats aren't "
                "accepted). Choose a photo in one of those formats."
            ),
        )
    refuse_hidden_content(data, image_format)
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as source:
            # SECURITY: the pixel count comes from the header that Image.open has read; no
            # pixel data has been decoded yet, so a decompression bomb costs nothing.
            width, height = source.size
            if width < 1 or height < 1:
                raise _malformed()
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            if source.format != image_format:
                raise _malformed()
            if image_format == "JPEG":
                source.draft(None, (size, size))  # decode at a reduced scale when it is big enough
            source.seek(0)  # the first frame of an animation
            source.load()
            upright = ImageOps.exif_transpose(source)
            image = _normalise_mode(_to_srgb(upright))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise _malformed() from exc

    square = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    # A new image from raw pixels carries no ``info``: nothing of the original file survives.
    clean = Image.frombytes(square.mode, square.size, square.tobytes())
    output = io.BytesIO()
    clean.save(output, OUTPUT_FORMAT, quality=OUTPUT_QUALITY, method=4)
    return output.getvalue()
