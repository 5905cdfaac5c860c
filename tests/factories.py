"""Test data builders and helpers shared by the suites."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path

from storefront.catalog.models import Product, ProductImage, Variant
from storefront.checkout.models import Order, OrderLine
from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.types import new_token

ROOT = Path(__file__).resolve().parent.parent
# The real exports live in shared/, beside the repository; they are never copied into it.
DATA_DIR = ROOT.parent / "shared" / "data"
CATALOG_DIR = DATA_DIR / "catalog"
STRIPE_DIR = DATA_DIR / "stripe"
WEBHOOK_SECRET = "whsec_test_storefront"


def make_product(company, title="Classic Tee", price_cents=2000, variants=None, stock=None,
                 compare_at_cents=None, handle=None) -> Product:
    """A product with one variant per entry of ``variants`` (dicts of options), else one."""
    product = Product(company_id=company.id, handle=handle or re.sub(r"\W+", "-", title.lower()),
                      title=title, option_names=list((variants or [{}])[0].keys()))
    product.images.append(ProductImage(src="https://example.invalid/tee.jpg", alt=title, position=1))
    for position, options in enumerate(variants or [{}], start=1):
        product.variants.append(Variant(
            company_id=company.id, sku=f"{product.handle}-{position}", title=" / ".join(options.values()) or "Default Title",
            options=options, price_cents=price_cents, compare_at_cents=compare_at_cents,
            track_inventory=stock is not None, stock=stock or 0, position=position,
        ))
    db.session.add(product)
    db.session.commit()
    return product


def make_page(company, products, slug="summer-sale", status="published") -> LandingPage:
    """A landing page with a hero and a product grid of ``products``."""
    page = LandingPage(company_id=company.id, slug=slug, title="Summer Sale", status=status)
    hero = Section(type="hero", position=1, settings={"heading": "Summer Sale"})
    grid = Section(type="product_grid", position=2, settings={"heading": "Bestsellers", "columns": 4})
    page.sections.extend([hero, grid])
    db.session.add(page)
    db.session.flush()
    for position, product in enumerate(products, start=1):
        db.session.add(LandingPageProduct(landing_page_id=page.id, section_id=grid.id,
                                          product_id=product.id, position=position))
    db.session.commit()
    return page


def csrf_token(client, path="/cart") -> str:
    """A CSRF token for ``client``'s session, read from a page's form."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on " + path
    return match.group(1)


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``: t=<unix time>,v1=<HMAC-SHA256>."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def make_user(company, email="owner@acme.test", password="correct horse battery", role="owner"):
    """An admin user of ``company`` with a known password."""
    from storefront.accounts.services import create_user

    return create_user(company.slug, email, password, role)


def sign_in(client, email="owner@acme.test", password="correct horse battery"):
    """Sign ``client`` in through the real form; returns the response."""
    client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").get_data(as_text=True))
    return client.post("/admin/login", data={"email": email, "password": password, "csrf_token": token.group(1)})


def make_zone(company, name="United States", countries=("US",), methods=None):
    """A shipping zone with methods given as dicts of ShippingMethod fields."""
    from storefront.pricing.models import ShippingMethod, ShippingZone

    zone = ShippingZone(company_id=company.id, name=name, countries=list(countries))
    for position, spec in enumerate(methods or [{"name": "Standard", "type": "FLAT_RATE", "amount_cents": 595}]):
        zone.methods.append(ShippingMethod(company_id=company.id, position=position, **spec))
    db.session.add(zone)
    db.session.commit()
    from storefront.pricing.context import forget_pricing_config

    forget_pricing_config(company.id)
    return zone


def make_promotion(company, **fields):
    """A promotion; defaults to a 10 % cart code SAVE10."""
    from storefront.pricing.models import Promotion

    values = {"name": "Save 10", "type": "PERCENTAGE_OFF", "scope": "CART", "code": "SAVE10",
              "percent_bp": 1000, "combinable": True, **fields}
    promotion = Promotion(company_id=company.id, **values)
    db.session.add(promotion)
    db.session.commit()
    return promotion


def make_order(company, products, status="PAID", at=None) -> Order:
    """A ``status`` order of one unit of each product's first variant, created ``at`` (default
    now), written as rows (no payment): for what reads orders, e.g. the co-purchase count."""
    last = db.session.execute(db.select(Order.id).order_by(Order.id.desc())).first()
    placed = Order(company_id=company.id, number=f"{company.slug}-{(last[0] if last else 0) + 1}",
                   token=new_token(), currency="USD", subtotal_cents=0, total_cents=0, amount_paid_cents=0,
                   status=status, **({"created_at": at} if at else {}))
    for product in products:
        placed.lines.append(OrderLine(variant_id=product.variants[0].id, product_title=product.title,
                                      unit_price_cents=100, quantity=1, line_total_cents=100))
    db.session.add(placed)
    db.session.commit()
    return placed
