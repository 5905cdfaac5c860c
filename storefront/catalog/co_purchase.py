"""Frequently bought together: the co-purchase read model (``product_pairs``), rebuilt
nightly per merchant by ``checkout.co_purchase.rebuild_all`` from paid orders, read here by
the cart drawer (``cart.together``). It lives in catalog so that every shop page may read
it without importing checkout or analytics.

One row per ordered pair of different products of one merchant, in both directions (A→B
and B→A), with the number of paid orders in the window that held both. Only pairs bought
together in at least ``MIN_ORDERS_TOGETHER`` orders are kept and shown: one shared order is
chance, not a pattern.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow

# A pair must share at least this many paid orders to count (the product owner's rule in
# issue 13 §4: "shown only when there is real data"; one order together is chance).
MIN_ORDERS_TOGETHER = 2
# Partners kept per product in the drawer's cache: the drawer shows three, the rest are
# spares for partners already in the cart or sold out.
PARTNERS_PER_PRODUCT = 10
# The table changes once a night; a rebuild in this process drops the cache at once, other
# processes follow within PAIRS_CACHE_SECONDS. So the drawer reads no pairs per request.
PAIRS_CACHE_SECONDS = 10 * 60
_pairs_cache: dict[int, tuple[float, dict[int, list[tuple[int, int]]]]] = {}
_cache_lock = threading.Lock()


class ProductPair(db.Model):
    """``orders_together``: paid orders of the window holding both ``product_id`` and
    ``other_product_id`` (both the merchant's); ``computed_at``: the rebuild that wrote it."""

    __tablename__ = "product_pairs"
    __table_args__ = (Index("ix_product_pairs_company_product", "company_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    other_product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    orders_together: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def company_pairs(company_id: int) -> dict[int, list[tuple[int, int]]]:
    """{product id: [(partner product id, orders together), ...]} of the merchant's pairs with
    at least MIN_ORDERS_TOGETHER orders, most bought first (ties: lower id first), at most
    PARTNERS_PER_PRODUCT each; from a per-process cache (one query per PAIRS_CACHE_SECONDS)."""
    now = time.monotonic()
    hit = _pairs_cache.get(company_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = db.session.execute(
        db.select(ProductPair.product_id, ProductPair.other_product_id, ProductPair.orders_together)
        .where(ProductPair.company_id == company_id, ProductPair.orders_together >= MIN_ORDERS_TOGETHER)
        .order_by(ProductPair.product_id, ProductPair.orders_together.desc(), ProductPair.other_product_id)
    ).all()
    pairs: dict[int, list[tuple[int, int]]] = {}
    for product_id, other_id, together in rows:
        partners = pairs.setdefault(product_id, [])
        if len(partners) < PARTNERS_PER_PRODUCT:
            partners.append((other_id, together))
    with _cache_lock:
        _pairs_cache[company_id] = (now + PAIRS_CACHE_SECONDS, pairs)
    return pairs


def clear_pairs_cache(company_id: int | None = None) -> None:
    """Forget the cached pairs of ``company_id`` (every merchant's when None)."""
    with _cache_lock:
        if company_id is None:
            _pairs_cache.clear()
        else:
            _pairs_cache.pop(company_id, None)
