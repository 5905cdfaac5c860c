"""The drawer's one-click upsell: products the merchant picked as complementary to the ones
in the cart (``Product.upsell_product_ids``), offered with their first in-stock variant.

Honest by construction: only products that can be bought right now (active, published, a
variant in stock) and that are not already in the cart; at most ``MAX_SHOWN``. Prices are
the variants' current ``price_cents`` in the cart's currency.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import Text, cast, event
from sqlalchemy.orm import Session

from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.catalog.availability import availability
from storefront.catalog.models import Product, ProductImage, Variant
from storefront.extensions import db
from storefront.media.models import MediaAsset

MAX_SHOWN = 3
# Candidates looked at, in the merchant's order: enough to find three buyable ones even when
# several are sold out, and a bound on the query however many lines the cart has.
MAX_CANDIDATES = 40
# Which products the merchant paired, per process: {company id: (expires, {product id: ids})}.
# Picks change only in the catalogue admin; a save in this process drops the cache at once,
# other processes follow within PICKS_CACHE_SECONDS. So the drawer reads no picks per request.
PICKS_CACHE_SECONDS = 30
_picks_cache: dict[int, tuple[float, dict[int, list]]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class UpsellOffer:
    """A product to offer: ``variant_id`` is the variant one click adds (the first in stock,
    by position); ``variant_label`` is empty for a product with a single default variant."""

    product_id: int
    variant_id: int
    title: str
    variant_label: str
    price_cents: int
    compare_at_cents: int | None
    image_src: str | None
    # The product's first image's stored copy (media.models.MediaAsset) when its sizes are made.
    image: MediaAsset | None = field(default=None, compare=False)

    @property
    def on_sale(self) -> bool:
        return bool(self.compare_at_cents and self.compare_at_cents > self.price_cents)


def _company_picks(company_id: int) -> dict[int, list]:
    """{product id: its upsell ids} for the merchant's products that have any (cached)."""
    now = time.monotonic()
    hit = _picks_cache.get(company_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    rows = db.session.execute(
        db.select(Product.id, Product.upsell_product_ids)
        .where(Product.company_id == company_id, Product.upsell_product_ids.is_not(None),
               cast(Product.upsell_product_ids, Text) != "[]")
    ).all()
    picks = {row.id: row.upsell_product_ids for row in rows if isinstance(row.upsell_product_ids, list)}
    with _cache_lock:
        _picks_cache[company_id] = (now + PICKS_CACHE_SECONDS, picks)
    return picks


def _candidates(info: CartInfo, company_id: int) -> list[int]:
    """Picked product ids in cart-line order, then the merchant's order; without duplicates
    and without the products already in the cart."""
    in_cart = list(dict.fromkeys(line.product_id for line in info.lines))
    picked = _company_picks(company_id)
    seen = set(in_cart)
    ordered: list[int] = []
    for product_id in in_cart:
        for raw in picked.get(product_id, []):
            # The JSON comes from our admin form, but imports or old rows may hold anything.
            if isinstance(raw, int) and not isinstance(raw, bool) and raw not in seen:
                seen.add(raw)
                ordered.append(raw)
    return ordered[:MAX_CANDIDATES]


def upsell_offers(cart: Cart | None, info: CartInfo, limit: int = MAX_SHOWN) -> list[UpsellOffer]:
    """Up to ``limit`` offers for the drawer of ``cart`` (whose lines ``info`` holds).

    The merchant's picks come from a per-process cache (see PICKS_CACHE_SECONDS); then no
    query when nothing in the cart has complementary products, otherwise one query for all
    candidates (their variants and first image), however many lines the cart has. Stock,
    status and price are always read live. Another merchant's product id is ignored.
    """
    if cart is None or info.is_empty:
        return []
    return buyable_offers(cart.company_id, _candidates(info, cart.company_id))[:limit]


def buyable_offers(company_id: int, candidates: list[int]) -> list[UpsellOffer]:
    """An offer for each product of ``candidates`` (the merchant's, in that order) that can be
    bought now (``catalog.availability``), with its first sellable variant; one query, none
    for no candidates. Another merchant's product id is ignored. Also used by
    ``cart.together``."""
    if not candidates:
        return []
    first_image = (
        db.select(ProductImage.asset_id).where(ProductImage.product_id == Product.id)
        .order_by(ProductImage.position, ProductImage.id).limit(1).correlate(Product).scalar_subquery()
    )
    rows = db.session.execute(
        db.select(Variant, Product, MediaAsset)
        .join(Product, Product.id == Variant.product_id)
        .outerjoin(MediaAsset, MediaAsset.id == first_image)  # the first image's stored copy
        .where(Product.id.in_(candidates), Product.company_id == company_id,
               Variant.company_id == company_id, Product.status == "active", Product.published.is_(True))
        .order_by(Variant.product_id, Variant.position, Variant.id)
    ).all()
    best: dict[int, UpsellOffer] = {}
    for variant, product, asset in rows:
        if product.id in best or not availability(variant).sellable:
            continue
        best[product.id] = UpsellOffer(
            product_id=product.id, variant_id=variant.id, title=product.title, variant_label=variant.label,
            price_cents=variant.price_cents, compare_at_cents=variant.compare_at_cents,
            image_src=variant.image_src, image=asset if asset is not None and asset.ready else None,
        )
    return [best[product_id] for product_id in candidates if product_id in best]


@event.listens_for(Session, "before_flush")
def _forget_changed_picks(session, _flush_context, _instances) -> None:
    if any(isinstance(obj, Product) for obj in chain(session.new, session.dirty, session.deleted)):
        clear_upsell_cache()


def clear_upsell_cache() -> None:
    """Forget the cached picks of every merchant (after a catalogue change in this process)."""
    with _cache_lock:
        _picks_cache.clear()
