"""The demo merchant: the real WooCommerce catalogue and the published ``summer-sale`` page."""
from __future__ import annotations

import re
from pathlib import Path

from flask import current_app

from storefront.accounts.models import Company, User
from storefront.accounts.services import create_user, set_password
from storefront.catalog.images import attach_local_copy
from storefront.catalog.models import Product, ProductImage
from storefront.catalog.services import import_catalog
from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.landing.services import clear_section_cache
from storefront.media.services import process_asset, snapshot, store_image
from storefront.pricing.context import forget_pricing_config
from storefront.pricing.models import ShippingMethod, ShippingZone
from storefront.types import new_token

DEMO_SLUG = "demo"
DEMO_OWNER = "owner@demo.test"
DEMO_FILES = ("woocommerce/sample_products.csv", "woocommerce/experimental_fashion_sample_9_products.csv")
GRID_SIZE = 24
PHOTO_DIR = "images/woocommerce-storefront"
HERO_ALT = "Drawings of tees, hoodies, caps, belts and sunglasses scattered on a pale background"


def seed_demo(data_dir: str | None = None) -> tuple[LandingPage, str]:
    """Create or refresh the demo merchant, import the catalogue, publish ``summer-sale``
    (a hero and a product grid of up to 24 buyable products), and give the owner
    ``owner@demo.test`` a new random password. Idempotent. Commits.

    Returns (page, the owner's password).

    Raises FileNotFoundError when the catalogue exports are not at CATALOG_DATA_DIR.
    """
    base = Path(data_dir or current_app.config["CATALOG_DATA_DIR"])
    company = db.session.execute(db.select(Company).filter_by(slug=DEMO_SLUG)).scalar_one_or_none()
    if company is None:
        company = Company(name="Demo Outfitters", slug=DEMO_SLUG, currency="USD",
                          timezone="America/New_York", support_email="help@demo.test")
        db.session.add(company)
        db.session.commit()
    for name in DEMO_FILES:
        import_catalog(base / name, company)

    page = db.session.execute(db.select(LandingPage).filter_by(slug="summer-sale")).scalar_one_or_none()
    if page is None:
        page = LandingPage(company_id=company.id, slug="summer-sale", title="Summer Sale")
        db.session.add(page)
    page.status = "published"
    page.meta_title = "Summer Sale: up to 40% off | Demo Outfitters"
    page.meta_description = "Tees, hoodies and accessories for the long days. Free returns."
    page.sections.clear()
    db.session.flush()
    hero = Section(type="hero", position=1, settings={
        "heading": "Summer Sale",
        "subheading": "Soft tees, warm hoodies and the accessories to match. Sale prices while stock lasts.",
        "cta_label": "Shop the sale",
    })
    grid = Section(type="product_grid", position=2, settings={"heading": "Bestsellers", "columns": 4})
    page.sections.extend([hero, grid])
    db.session.flush()
    products = db.session.execute(
        db.select(Product).filter_by(company_id=company.id, status="active", published=True).order_by(Product.id)
    ).scalars().all()
    buyable = [p for p in products if p.variants and any(v.price_cents > 0 for v in p.variants)][:GRID_SIZE]
    for position, product in enumerate(buyable, start=1):
        db.session.add(LandingPageProduct(landing_page_id=page.id, section_id=grid.id,
                                          product_id=product.id, position=position))
    db.session.commit()
    hero.settings = {**hero.settings, **_attach_demo_photos(company, base / PHOTO_DIR)}
    db.session.commit()
    _seed_shipping(company)
    clear_section_cache()
    return page, _reset_owner(company)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _attach_demo_photos(company: Company, photos: Path) -> dict:
    """Attach the sample products' own photos (``products-<slug>.jpg``, see the folder's
    SOURCES.md) as the stored copies of each matching product's main image, matched by the
    handle without Woo's "woo-" prefix or by the slug of the title; made here, offline, with
    no fetch. Products without a photo keep the placeholder. Returns the hero's settings
    for ``hero.jpg`` ({"image": snapshot}), or {} when the folder is missing."""
    if not photos.is_dir():
        return {}
    by_slug = {p.stem.removeprefix("products-"): p for p in photos.glob("products-*.jpg")}
    products = db.session.execute(
        db.select(Product).filter_by(company_id=company.id).order_by(Product.id)
    ).scalars().all()
    for product in products:
        path = by_slug.get(product.handle.removeprefix("woo-")) or by_slug.get(_slug(product.title))
        if path is None:
            continue
        if not product.images:
            product.images.append(ProductImage(src=f"demo:{path.name}", alt=product.title, position=1))
            db.session.flush()
        attach_local_copy(product.images[0], path.read_bytes(), company.id, process_now=True)
    hero = photos / "hero.jpg"
    if not hero.is_file():
        return {}
    asset = store_image(company.id, hero.read_bytes())
    db.session.commit()
    process_asset(asset.id)
    return {"image": snapshot(asset, HERO_ALT)}


def _seed_shipping(company: Company) -> None:
    """North America ships flat $5.95 or free from $75; the UK and EU flat $14.95."""
    if db.session.execute(db.select(ShippingZone.id).filter_by(company_id=company.id)).first():
        return
    zones = [
        ("North America", ["US", "CA"], [("Standard (3–5 days)", "FLAT_RATE", 595, 0),
                                         ("Free shipping", "FREE", 0, 7500)]),
        ("UK and Europe", ["GB", "IE", "DE", "FR", "NL", "ES", "IT"], [("International", "FLAT_RATE", 1495, 0)]),
    ]
    for position, (name, countries, methods) in enumerate(zones):
        zone = ShippingZone(company_id=company.id, name=name, countries=countries, position=position)
        for order, (label, kind, amount, free_above) in enumerate(methods):
            zone.methods.append(ShippingMethod(company_id=company.id, name=label, type=kind, amount_cents=amount,
                                               free_above_cents=free_above, position=order))
        db.session.add(zone)
    db.session.commit()
    forget_pricing_config(company.id)


def _reset_owner(company: Company) -> str:
    password = new_token()[:16]
    owner = db.session.execute(db.select(User).filter_by(email=DEMO_OWNER)).scalar_one_or_none()
    if owner is None:
        create_user(company.slug, DEMO_OWNER, password, role="owner")
    else:
        set_password(owner, password)
    return password
