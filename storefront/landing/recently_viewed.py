"""Personalisation: "Recently viewed" on a landing page (issue 13 §4), for this visit.

A product has no page of its own here, so what a shopper viewed is the products of the
landing pages they viewed: the visit log already records each landing view (a visit per
page, ``visits.services.track_landing_view``), so the visitor's other visits of this
merchant that are still live (active within ``VISIT_IDLE_LIMIT``, the rule that ends a
visit) name the pages, and their product grids the products. Nothing is recorded for it.

Shown only when there are any: products not on the page being viewed, buyable now
(``catalog.availability``), most recently viewed first, at most ``MAX_SHOWN``. A visit still
in the visit buffer is seen once flushed (seconds later). Per visitor, so the route renders
it outside the cached sections.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storefront.catalog.availability import availability
from storefront.catalog.models import Product, Variant
from storefront.extensions import db
from storefront.landing.models import LandingPageProduct
from storefront.types import utcnow
from storefront.visits.models import Visit
from storefront.visits.services import VISIT_IDLE_LIMIT

MAX_SHOWN = 4


@dataclass(frozen=True)
class ViewedProduct:
    """A product to show again: ``variant_id`` is the variant one click adds (the first
    sellable one, by position); ``variant_label`` is empty for a single default variant."""

    product_id: int
    variant_id: int
    title: str
    variant_label: str
    price_cents: int


def recently_viewed(company_id: int, visitor_id: str | None, page_id: int,
                    now: datetime | None = None, limit: int = MAX_SHOWN) -> list[ViewedProduct]:
    """Up to ``limit`` products the visitor ``visitor_id`` (the returning-visitor cookie)
    viewed on the merchant's other landing pages in visits live at ``now`` (tz-aware UTC,
    default now), without those of page ``page_id``. One statement; none without a visitor."""
    if not visitor_id:
        return []
    now = now or utcnow()
    on_this_page = select(LandingPageProduct.product_id).where(LandingPageProduct.landing_page_id == page_id)
    seen = (
        select(LandingPageProduct.product_id, func.max(Visit.last_activity_at).label("seen_at"))
        .join(Visit, Visit.landing_page_id == LandingPageProduct.landing_page_id)
        .where(Visit.company_id == company_id, Visit.visitor_id == visitor_id,
               Visit.last_activity_at >= now - VISIT_IDLE_LIMIT, Visit.landing_page_id != page_id,
               LandingPageProduct.product_id.not_in(on_this_page))
        .group_by(LandingPageProduct.product_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Variant, Product)
        .join(Product, Product.id == Variant.product_id)
        .join(seen, seen.c.product_id == Product.id)
        .where(Product.company_id == company_id, Variant.company_id == company_id,
               Product.status == "active", Product.published.is_(True))
        .order_by(seen.c.seen_at.desc(), Product.id, Variant.position, Variant.id)
    ).all()
    shown: dict[int, ViewedProduct] = {}
    for variant, product in rows:
        if product.id in shown or not availability(variant).sellable:
            continue
        shown[product.id] = ViewedProduct(product_id=product.id, variant_id=variant.id, title=product.title,
                                          variant_label=variant.label, price_cents=variant.price_cents)
        if len(shown) == limit:
            break
    return list(shown.values())
