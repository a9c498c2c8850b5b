"""A new person signs up, verifies, signs in, looks after their profile and signs out."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "lunar Orchid tractor 7 pebble"


def jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (640, 480), (31, 95, 191))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def read_code(page: Page, base: str, address: str) -> str:
    page.goto(f"{base}/outbox/")
    message = page.locator("article", has_text=address).first
    text = message.locator("pre").inner_text()
    match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}|\d{6})\b", text)
    assert match, text
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_sign_up_verify_sign_in_edit_profile_sign_out(
    page: Page, live_server: Any, outbox_dir: Path, shoot: Any, tmp_path: Path
) -> None:
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    shoot(page, "sign-up")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email").first.fill("grace@example.com")
    page.get_by_label("Password").first.fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    code = read_code(page, base, "grace@example.com")
    page.go_back()
    page.get_by_label(re.compile("Code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("Confirm|Verify", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Grace")).to_be_visible()
    shoot(page, "overview")

    # Sign out, then sign back in with "Keep me signed in".
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"{base}/accounts/login/")
    shoot(page, "sign-in")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in$", re.I)).click()
    expect(page.get_by_role("heading", name="Welcome, Grace")).to_be_visible()

    # Edit names.
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Your info").click()
    page.get_by_label("Display name").fill("Amazing Grace")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_text("Your changes were saved.")).to_be_visible()
    expect(page.locator(".account-chip")).to_contain_text("Amazing Grace")

    # Upload a photo (a JPEG made here, with a GPS tag the portal must strip).
    photo = tmp_path / "me.jpg"
    photo.write_bytes(jpeg_with_gps())
    page.locator("input[type=file]").set_input_files(str(photo))
    page.get_by_role("button", name="Upload photo").click()
    expect(page.get_by_role("img", name=re.compile("Photo of"))).to_be_visible()
    expect(page.get_by_role("button", name="Remove photo")).to_be_visible()
    shoot(page, "your-info")

    # Add a second email address and verify it with the code from the outbox.
    page.get_by_role("link", name="Manage email addresses").click()
    page.get_by_label(re.compile("^E-?mail", re.I)).last.fill("grace.work@example.com")
    page.get_by_role("button", name="Send code").last.click()
    code = read_code(page, base, "grace.work@example.com")
    page.go_back()
    page.get_by_role("textbox", name="Code").fill(code)
    page.get_by_role("button", name="Verify").click()
    page.goto(f"{base}/accounts/email/")
    expect(page.locator("li", has_text="grace.work@example.com")).to_contain_text("Verified")
    shoot(page, "email-addresses")

    # Sign out.
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
