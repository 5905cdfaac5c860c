"""The demo landing page in Chromium with its product photos: every picture loads from our
own /media URLs (WebP), none from the catalogue's host, the hero photo is the LCP candidate
loaded eagerly, layout boxes are reserved (width/height) and screenshots at 390 and 1280 px
go to tests/browser/screenshots/ (demo-photos-390.png, demo-photos-1280.png)."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_the_demo_page_shows_its_photos_from_our_media_urls(app, db, live_server, page, shoot, tmp_path):
    app.config.update(REDIS_URL="", MEDIA_ROOT=str(tmp_path / "media"))
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/lp/summer-sale")
    page.wait_for_load_state("load")

    hero = page.locator(".hero-media img:not(.media-color)")
    assert hero.get_attribute("fetchpriority") == "high"
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", hero.element_handle())
    # 390 CSS px at the context's device pixel ratio: the browser picks a WebP width from srcset.
    assert re.search(r"-(640|960|1600)w\.webp$", page.evaluate("(img) => img.currentSrc", hero.element_handle()))

    page.locator(".product-grid").scroll_into_view_if_needed()
    first_card = page.locator(".product-card .media img:not(.media-color)").first
    first_card.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=first_card.element_handle())
    assert page.evaluate("(img) => img.currentSrc", first_card.element_handle()).endswith(".webp")
    box = first_card.bounding_box()
    assert box and box["width"] > 100 and abs(box["width"] - box["height"]) < 2  # square, laid out

    images = [url for url in requested if "/media/" in url or url.endswith((".jpg", ".png", ".webp"))]
    assert images and all(url.startswith(f"{live_server}/media/img/") for url in images)
    assert not [url for url in requested if "mystagingwebsite" in url]
    shoot(page, "demo-photos")
