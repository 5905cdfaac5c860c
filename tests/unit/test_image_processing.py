"""Image checks and derivatives (storefront.media.processing) on real photos and bad files."""
from __future__ import annotations

import io

import pytest
from images import SVG, TEXT_AS_JPG, made, photo, png_declaring
from PIL import Image

from storefront.media.processing import MAX_BYTES, ImageRefused, check, derive


def test_a_real_photo_passes_with_its_size_and_hash():
    data = photo("products-polo.jpg")
    checked = check(data)
    assert (checked.ext, checked.width, checked.height) == ("jpg", 801, 800)
    assert len(checked.sha256) == 64 and checked.byte_size == len(data)


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("JPEG", "jpg")])
def test_the_four_formats_pass(fmt, ext):
    assert check(made(fmt=fmt)).ext == ext


@pytest.mark.parametrize("data,message", [
    (photo()[: len(photo()) // 2], "damaged or incomplete"),
    (png_declaring(100_000, 100_000), "declares 10,000,000,000 pixels"),
    (TEXT_AS_JPG, "not a JPEG, PNG, WebP or GIF"),
    (SVG, "SVG images are not accepted"),
    (b"", "empty"),
    (made(fmt="BMP"), "not a JPEG, PNG, WebP or GIF"),
    (made(fmt="TIFF"), "not a JPEG, PNG, WebP or GIF"),
], ids=["truncated-jpeg", "100k-png", "text-as-jpg", "svg", "empty", "bmp", "tiff"])
def test_bad_files_are_refused_with_the_reason(data, message):
    with pytest.raises(ImageRefused, match=message):
        check(data)


def test_over_20_mb_is_refused_before_decoding():
    with pytest.raises(ImageRefused, match="30.0 MB; the limit is 20 MB"):
        check(b"\xff\xd8" + b"\x00" * (30 * 1024 * 1024 - 2))
    assert MAX_BYTES == 20 * 1024 * 1024


def test_pixels_over_the_pillow_limit_are_refused_below_pillows_own_error(monkeypatch):
    # Pillow itself only raises at twice MAX_IMAGE_PIXELS; we refuse from the limit up.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageRefused, match="40 × 30 pixels"):
        check(made(size=(40, 30)))


def test_derivatives_never_upscale_and_come_in_webp_and_jpeg():
    derived = derive(photo("products-polo.jpg"))  # 801 px wide
    assert derived.widths == [320, 640, 801]
    assert set(derived.files) == {(w, f) for w in (320, 640, 801) for f in ("webp", "jpg")}
    for (width, fmt), blob in derived.files.items():
        im = Image.open(io.BytesIO(blob))
        assert im.format == {"webp": "WEBP", "jpg": "JPEG"}[fmt]
        assert im.width == width and abs(im.height - round(800 * width / 801)) <= 1


def test_the_hero_gets_every_width_up_to_1600():
    derived = derive(photo("hero.jpg"))  # 3795 x 2355
    assert derived.widths == [320, 640, 960, 1600]
    assert (derived.width, derived.height) == (3795, 2355)


def test_exif_orientation_is_applied_and_metadata_dropped():
    data = made(size=(60, 20), fmt="JPEG", exif_orientation=6)
    assert Image.open(io.BytesIO(data)).getexif()[0x010F] == "TestCam"
    derived = derive(data)
    assert (derived.width, derived.height) == (20, 60)  # turned upright
    for blob in derived.files.values():
        im = Image.open(io.BytesIO(blob))
        assert not im.getexif() and "icc_profile" not in im.info and "exif" not in im.info


def test_dominant_colour_is_the_main_colour():
    assert derive(made(color=(200, 30, 30))).color == "#c81e1e"
    # A transparent PNG keeps its alpha in WebP and sits on white in JPEG.
    derived = derive(made(mode="RGBA", color=(0, 0, 255, 0)))
    assert Image.open(io.BytesIO(derived.files[(40, "webp")])).mode == "RGBA"
    assert Image.open(io.BytesIO(derived.files[(40, "jpg")])).getpixel((1, 1))[0] > 240
