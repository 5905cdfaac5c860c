"""The demo seed shows the sample products' own photos and the hero photo, offline."""
from __future__ import annotations

import re

from storefront.catalog.models import Product
from storefront.media.models import MediaAsset

PHOTOGRAPHED = {"V-Neck T-Shirt", "Hoodie", "Hoodie with Logo", "Hoodie with Pocket", "Hoodie with Zipper",
                "T-Shirt", "Long Sleeve Tee", "Polo", "Beanie", "Belt", "Cap", "Sunglasses"}


def test_the_demo_shows_the_sample_photos_and_the_hero_photo(app, db, client, tmp_path):
    app.config.update(REDIS_URL="", MEDIA_ROOT=str(tmp_path / "media"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    products = db.session.execute(db.select(Product).order_by(Product.id)).scalars().all()
    shown = {p.title for p in products if p.images and p.images[0].asset and p.images[0].asset.ready}
    assert shown == PHOTOGRAPHED
    # The photo is the stored copy of the catalogue's own first image: its source is kept.
    hoodie = next(p for p in products if p.title == "Hoodie")
    assert hoodie.images[0].src.startswith("https://woocommercecore.mystagingwebsite.com/")

    html = client.get("/lp/summer-sale").get_data(as_text=True)
    assert "mystagingwebsite" not in html and "https://" not in " ".join(re.findall(r"<img [^>]*>", html))
    hero = re.search(r'<section class="hero hero-with-image">.*?</section>', html, re.S).group(0)
    assert 'fetchpriority="high"' in hero and "-1600w.webp 1600w" in hero
    assert html.count('loading="lazy"') >= 1 and html.count("image-placeholder") >= 1  # some have no photo

    assets = db.session.execute(db.select(db.func.count()).select_from(MediaAsset)).scalar()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # again: nothing new stored
    assert db.session.execute(db.select(db.func.count()).select_from(MediaAsset)).scalar() == assets == 13
