"""Images for the photo tests, built byte by byte."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image, ImageCms


def encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def jpeg_with_gps_and_rotation() -> bytes:
    """A 400x200 JPEG, red left and blue right, that EXIF says to turn 90° clockwise.

    It carries GPS coordinates, a camera make, an ICC profile and a comment.
    """
    image = Image.new("RGB", (400, 200), (255, 0, 0))
    image.paste((0, 0, 255), (200, 0, 400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam Industries"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (40.0, 26.0, 46.0)
    gps[3] = "W"
    gps[4] = (79.0, 58.0, 56.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(image, "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"secret comment", quality=95)


def small_gif(color: str = "green") -> bytes:
    return encode(Image.new("RGB", (64, 64), color), "GIF")


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (80, 80), "red"), Image.new("RGB", (80, 80), "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], loop=0, duration=100)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024, 9))
        + png_chunk(b"IEND", b"")
    )


def png_with_text(text: bytes) -> bytes:
    """A valid PNG with a tEXt chunk inside it (before IEND, so nothing trails)."""
    plain = encode(Image.new("RGB", (32, 32), "white"), "PNG")
    iend = plain.rindex(b"IEND") - 4
    return plain[:iend] + png_chunk(b"tEXt", b"Comment\x00" + text) + plain[iend:]
