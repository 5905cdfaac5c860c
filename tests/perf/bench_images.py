"""Product photos: derivatives per second for one worker, the landing page's image bytes on
a 390 px phone (computed from srcset, as the browser picks), and the Largest Contentful
Paint of the demo landing page in Chromium on an emulated phone (390 px, DPR 3) with the
network throttled through CDP to 9 Mbit/s and 150 ms round trips. Prints figures, asserts
nothing.

    .venv/bin/python tests/perf/bench_images.py

It builds the demo (``flask demo seed``) on a temporary SQLite database and media folder,
serves it with Werkzeug on 127.0.0.1, and measures the page twice: "placeholders" (the
photos' sizes not made yet, which is what every demo product showed before photos were
stored: the catalogue URLs point at a host that cannot be reached) and "photos".
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PHOTOS = ROOT.parent / "shared" / "data" / "catalog" / "images" / "woocommerce-storefront"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844, "dpr": 3}


def derivatives_per_second() -> None:
    from storefront.media.processing import derive

    files = sorted(PHOTOS.glob("*.jpg"))
    blobs = [f.read_bytes() for f in files]
    made, start = 0, time.perf_counter()
    for blob in blobs:
        made += len(derive(blob).files)
    seconds = time.perf_counter() - start
    print(f"derivatives: {made} files from {len(blobs)} photos in {seconds:.2f} s on one process: "
          f"{made / seconds:.1f} derivatives/s, {len(blobs) / seconds:.2f} photos/s")


def _pick(srcset: str, sizes_px: float, dpr: float) -> str:
    """The candidate a browser takes: the narrowest at least sizes × DPR, else the widest."""
    candidates = sorted((int(w), url) for url, w in re.findall(r"(\S+) (\d+)w", srcset))
    need = sizes_px * dpr
    return next((url for w, url in candidates if w >= need), candidates[-1][1])


def _sizes_px(sizes: str, viewport: int) -> float:
    for part in sizes.split(","):
        part = part.strip()
        found = re.match(r"\(min-width: (\d+)px\) (\d+)(px|vw)", part)
        if found:
            if viewport >= int(found.group(1)):
                value = int(found.group(2))
                return value if found.group(3) == "px" else viewport * value / 100
            continue
        value = re.match(r"(\d+)(px|vw)", part)
        return int(value.group(1)) if value.group(2) == "px" else viewport * int(value.group(1)) / 100
    return viewport


def phone_bytes(html: str, media_root: Path) -> tuple[int, int, int]:
    """(images, bytes of the WebP each <picture> would load on the phone, of them above the
    first screen's hero only)."""
    total, count, hero = 0, 0, 0
    for source in re.finditer(r'<source type="image/webp" srcset="([^"]+)" sizes="([^"]+)">', html):
        url = _pick(source.group(1), _sizes_px(source.group(2), PHONE["width"]), PHONE["dpr"])
        size = (media_root / url.removeprefix("/media/")).stat().st_size
        total, count = total + size, count + 1
        if 'fetchpriority="high"' in html[source.end():html.find(">", html.find("<img", source.end()))]:
            hero += size
    return count, total, hero


def original_bytes(app) -> int:
    """What the page linked before: each product's catalogue image at full size (the same
    photos, as the shop's staging host served them), for the products that have a photo."""
    from storefront.catalog.models import Product
    from storefront.extensions import db

    total = 0
    for product in db.session.execute(db.select(Product)).scalars():
        if product.images and product.images[0].asset is not None:
            total += product.images[0].asset.byte_size
    return total


def serve(app) -> tuple[str, object]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def lcp(base: str, runs: int = 3) -> list[float]:
    """LCP in ms of /lp/summer-sale, a fresh context (cold cache) per run."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            context = browser.new_context(viewport={"width": PHONE["width"], "height": PHONE["height"]},
                                          device_scale_factor=PHONE["dpr"], is_mobile=True, has_touch=True)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 150,
                "downloadThroughput": 9_000_000 / 8, "uploadThroughput": 9_000_000 / 8})
            page.add_init_script("""
                window.__lcp = 0;
                new PerformanceObserver(list => { for (const e of list.getEntries()) window.__lcp = e.startTime; })
                  .observe({type: 'largest-contentful-paint', buffered: true});""")
            page.goto(base + "/lp/summer-sale", wait_until="load")
            page.wait_for_timeout(1500)
            results.append(page.evaluate("window.__lcp"))
            context.close()
        browser.close()
    return results


def main() -> None:
    derivatives_per_second()
    tmp = Path(tempfile.mkdtemp(prefix="bench-images-"))
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from storefront import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}", "REDIS_URL": "",
                      "MEDIA_ROOT": str(tmp / "media"), "SECTION_CACHE_SECONDS": 0,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        from storefront.demo import seed_demo

        seed_demo()
        before_bytes = original_bytes(app)
        html = app.test_client().get("/lp/summer-sale").get_data(as_text=True)
        count, after, hero = phone_bytes(html, tmp / "media")
        print(f"phone weight (390 px, DPR {PHONE['dpr']}), from srcset: {count} pictures, "
              f"{after / 1024:.0f} KiB of WebP if scrolled through (hero {hero / 1024:.0f} KiB; "
              f"the cards below the fold load lazily); before: the cards linked the full-size "
              f"catalogue JPEGs, {before_bytes / 1024:.0f} KiB for the same products, with no hero photo")
    base, server = serve(app)
    try:
        with_photos = lcp(base)
        from storefront.extensions import db
        from storefront.landing.services import clear_section_cache
        from storefront.media.models import MediaAsset

        with app.app_context():  # the sizes not made yet: every picture is a placeholder
            db.session.execute(db.update(MediaAsset).values(status="pending"))
            from storefront.landing.models import Section

            for hero_section in db.session.execute(db.select(Section).filter_by(type="hero")).scalars():
                hero_section.settings = {k: v for k, v in hero_section.settings.items() if k != "image"}
            db.session.commit()
            clear_section_cache()
        placeholders = lcp(base)
    finally:
        server.shutdown()
    fmt = ", ".join
    print(f"LCP, phone 390 px, 9 Mbit/s, 150 ms RTT, cold cache: placeholders (before) "
          f"{fmt(f'{v:.0f}' for v in placeholders)} ms; photos (after) {fmt(f'{v:.0f}' for v in with_photos)} ms "
          f"(target < 2000 ms)")


if __name__ == "__main__":
    main()
