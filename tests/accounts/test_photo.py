"""Profile photo: upload, the hostile-file checks, serving, removal."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.accounts.images import (
    animated_gif,
    encode,
    jpeg_with_gps_and_rotation,
    png_claiming,
    png_with_text,
    small_gif,
)
from tests.conftest import PASSWORD, make_user
from threshold.accounts import photos
from threshold.accounts.models import User
from threshold.activity.models import SecurityEvent

pytestmark = pytest.mark.django_db


def upload(client: Any, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> Any:
    return client.post(
        "/your-info/photo/", {"photo": SimpleUploadedFile(name, data, content_type=content_type)}
    )


def stored_photo(user: User) -> bytes | None:
    value = User.objects.values_list("photo", flat=True).get(pk=user.pk)
    return bytes(value) if value is not None else None


def assert_refused(response: Any, user: User, message: str) -> None:
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page, page
    assert "wasn&#x27;t changed" in page
    user.refresh_from_db()
    assert user.photo_updated_at is None
    assert stored_photo(user) is None
    assert not SecurityEvent.objects.filter(code="account:photo:update").exists()


def test_a_jpeg_is_turned_upright_cropped_to_256_and_stripped_of_metadata(
    signed_in_client: Any, user: User
) -> None:
    original = jpeg_with_gps_and_rotation()
    source = Image.open(io.BytesIO(original))
    assert source.getexif().get_ifd(0x8825), "the test image must carry GPS data"
    assert "icc_profile" in source.info

    response = upload(signed_in_client, original)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.photo_updated_at is not None
    data = stored_photo(user)
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    assert image.size == (256, 256)
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)
    for secret in (b"SpyCam", b"secret comment", b"Exif", b"GPS"):
        assert secret not in data
    # Turned upright: the left (red) half of the stored pixels is now on top.
    upright = image.convert("RGB")
    red, _g, blue = upright.getpixel((128, 30))  # type: ignore[misc]
    assert red > 200 and blue < 60
    red, _g, blue = upright.getpixel((128, 225))  # type: ignore[misc]
    assert blue > 200 and red < 60
    event = SecurityEvent.objects.get(code="account:photo:update")
    assert event.user == user
    assert event.details["uploaded_format"] == "JPEG"


@pytest.mark.parametrize(
    ("image_format", "mode"),
    [("PNG", "RGBA"), ("WEBP", "RGB"), ("GIF", "P")],
)
def test_png_webp_and_gif_are_accepted(
    signed_in_client: Any, user: User, image_format: str, mode: str
) -> None:
    data = encode(Image.new(mode, (300, 120)), image_format)
    response = upload(signed_in_client, data, name="photo.bin", content_type="application/octet-stream")
    assert response.status_code == 302
    image = Image.open(io.BytesIO(stored_photo(user) or b""))
    assert image.size == (256, 256)


def test_an_animated_gif_keeps_only_its_first_frame(signed_in_client: Any, user: User) -> None:
    assert upload(signed_in_client, animated_gif(), name="a.gif", content_type="image/gif").status_code == 302
    image = Image.open(io.BytesIO(stored_photo(user) or b""))
    assert getattr(image, "n_frames", 1) == 1
    red, _g, blue = image.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
    assert red > 200 and blue < 60


def test_an_image_bomb_is_refused_from_its_header(signed_in_client: Any, user: User) -> None:
    bomb = png_claiming(30_000, 30_000)
    assert len(bomb) < 200
    response = upload(signed_in_client, bomb, name="bomb.png", content_type="image/png")
    assert_refused(response, user, "too many pixels")


def test_the_pixel_limit_is_ours_not_only_pillows(signed_in_client: Any, user: User, settings: Any) -> None:
    settings.PHOTO_MAX_PIXELS = 100_000
    data = encode(Image.new("RGB", (400, 400), "red"), "PNG")  # 160,000 pixels: under Pillow's own limit
    response = upload(signed_in_client, data, name="big.png", content_type="image/png")
    assert_refused(response, user, "too many pixels")


def test_a_gif_with_html_appended_is_refused(signed_in_client: Any, user: User) -> None:
    polyglot = small_gif() + b"<html><script>alert(document.cookie)</script></html>"
    assert Image.open(io.BytesIO(polyglot)).size == (64, 64), "Pillow alone would accept it"
    response = upload(signed_in_client, polyglot, name="cat.gif", content_type="image/gif")
    assert_refused(response, user, "extra data after the image")


def test_a_jpeg_with_a_zip_appended_is_refused(signed_in_client: Any, user: User) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("shell.php", "<?php system($_GET['c']); ?>")
    polyglot = jpeg_with_gps_and_rotation() + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot)), "the file must also be a valid ZIP"
    response = upload(signed_in_client, polyglot)
    assert_refused(response, user, "extra data after the image")


def test_script_hidden_inside_an_image_is_refused(signed_in_client: Any, user: User) -> None:
    polyglot = png_with_text(b"<script>alert(1)</script>")
    assert Image.open(io.BytesIO(polyglot)).size == (32, 32)
    response = upload(signed_in_client, polyglot, name="x.png", content_type="image/png")
    assert_refused(response, user, "web page, script or archive content")


def test_php_hidden_inside_an_image_is_refused(signed_in_client: Any, user: User) -> None:
    polyglot = encode(Image.new("RGB", (40, 40)), "JPEG", comment=b"<?php echo 'owned'; ?>")
    response = upload(signed_in_client, polyglot)
    assert_refused(response, user, "web page, script or archive content")


def test_svg_is_refused(signed_in_client: Any, user: User) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
    response = upload(signed_in_client, svg, name="me.svg", content_type="image/svg+xml")
    assert_refused(response, user, "isn&#x27;t a JPEG, PNG, WebP or GIF image")


def test_a_text_file_named_png_is_refused(signed_in_client: Any, user: User) -> None:
    response = upload(signed_in_client, b"just some text\n" * 20, name="photo.png", content_type="image/png")
    assert_refused(response, user, "isn&#x27;t a JPEG, PNG, WebP or GIF image")


def test_a_truncated_image_is_refused(signed_in_client: Any, user: User) -> None:
    whole = jpeg_with_gps_and_rotation()
    response = upload(signed_in_client, whole[: len(whole) // 2])
    assert_refused(response, user, "damaged or incomplete")


def test_a_file_over_5_mb_is_refused(signed_in_client: Any, user: User) -> None:
    too_big = b"\xff\xd8\xff\xe0" + os.urandom(5 * 1024 * 1024)
    response = upload(signed_in_client, too_big)
    assert_refused(response, user, "larger than 5 MB")


def test_a_bad_upload_keeps_the_previous_photo(signed_in_client: Any, user: User) -> None:
    upload(signed_in_client, small_gif("red"), name="a.gif", content_type="image/gif")
    before = stored_photo(user)
    assert before is not None
    response = upload(signed_in_client, b"not an image", name="b.png", content_type="image/png")
    assert response.status_code == 400
    assert stored_photo(user) == before
    assert SecurityEvent.objects.filter(code="account:photo:update").count() == 1


def test_the_photo_is_served_to_its_owner_with_safe_headers(signed_in_client: Any, user: User) -> None:
    upload(signed_in_client, jpeg_with_gps_and_rotation())
    user.refresh_from_db()
    page = signed_in_client.get("/your-info/").content.decode()
    url = f"/your-info/photo/{user.public_id}/"
    assert f'src="{url}?v=' in page

    response = signed_in_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "private" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]
    assert response.content == stored_photo(user)


def test_another_persons_photo_is_not_found(signed_in_client: Any, user: User) -> None:
    other = make_user("grace@example.com")
    other_client = Client()
    other_client.post("/accounts/login/", {"login": other.email, "password": PASSWORD})
    upload(other_client, small_gif(), name="g.gif", content_type="image/gif")
    url = f"/your-info/photo/{other.public_id}/"
    assert other_client.get(url).status_code == 200

    assert signed_in_client.get(url).status_code == 404
    assert Client().get(url).status_code == 404  # nor to anyone signed out


def test_no_photo_is_not_found(signed_in_client: Any, user: User) -> None:
    assert signed_in_client.get(f"/your-info/photo/{user.public_id}/").status_code == 404


def test_remove_photo(signed_in_client: Any, user: User) -> None:
    upload(signed_in_client, small_gif(), name="g.gif", content_type="image/gif")
    assert "Remove photo" in signed_in_client.get("/your-info/").content.decode()

    response = signed_in_client.post("/your-info/photo/remove/")

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.photo_updated_at is None
    assert stored_photo(user) is None
    assert signed_in_client.get(f"/your-info/photo/{user.public_id}/").status_code == 404
    event = SecurityEvent.objects.get(code="account:photo:remove")
    assert event.user == user
    # Removing again changes nothing and records nothing.
    signed_in_client.post("/your-info/photo/remove/")
    assert SecurityEvent.objects.filter(code="account:photo:remove").count() == 1


def test_upload_needs_the_csrf_token(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/your-info/").status_code == 200  # the page itself works
    response = upload(client, small_gif(), name="g.gif", content_type="image/gif")
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.photo_updated_at is None


def test_uploads_are_limited_per_account(signed_in_client: Any, user: User, settings: Any) -> None:
    settings.PHOTO_UPLOAD_LIMITS = [(2, 3600)]
    for _ in range(2):
        assert (
            upload(signed_in_client, small_gif(), name="g.gif", content_type="image/gif").status_code == 302
        )
    response = upload(signed_in_client, small_gif(), name="g.gif", content_type="image/gif")
    assert response.status_code == 400
    assert "many photos in a short time" in response.content.decode()


def test_the_photo_is_not_loaded_with_every_request(user: User) -> None:
    fresh = User.objects.get(pk=user.pk)
    assert "photo" in fresh.get_deferred_fields()


def test_pipeline_output_is_webp_with_declared_content_type() -> None:
    data = photos.prepare_photo(small_gif(), max_bytes=10**6, max_pixels=10**6, size=64)
    assert photos.content_type_of(data) == photos.CONTENT_TYPE == "image/webp"
    assert Image.open(io.BytesIO(data)).size == (64, 64)
