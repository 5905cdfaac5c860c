"""The drawer's "Frequently bought together": products other shoppers of this merchant
bought in the same paid orders as the products in the cart (``catalog.co_purchase``,
counted nightly by ``checkout.co_purchase``).

Shown only with real data: pairs of at least ``MIN_ORDERS_TOGETHER`` orders, products that
can be bought now (``catalog.availability``), not in the cart and not already offered by
the merchant's own upsell picks; at most ``MAX_SHOWN``. Prices are read live.
"""
from __future__ import annotations

from collections.abc import Iterable

from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.cart.upsell import UpsellOffer, buyable_offers
from storefront.catalog.co_purchase import company_pairs

MAX_SHOWN = 3
# Candidates looked at: enough to find three buyable ones when some are sold out, and a
# bound on the query however many lines the cart has.
MAX_CANDIDATES = 20


def candidates(pairs: dict[int, list[tuple[int, int]]], in_cart: Iterable[int],
               skip: Iterable[int] = ()) -> list[int]:
    """Partner product ids of the ``in_cart`` products, most orders together first (a partner
    of several cart products counts its best pair; ties: lower id first), without the cart's
    own products and ``skip``; at most MAX_CANDIDATES."""
    cart_ids = set(in_cart)
    excluded = cart_ids | set(skip)
    best: dict[int, int] = {}
    for product_id in cart_ids:
        for other_id, together in pairs.get(product_id, []):
            if other_id not in excluded and together > best.get(other_id, 0):
                best[other_id] = together
    return sorted(best, key=lambda other_id: (-best[other_id], other_id))[:MAX_CANDIDATES]


def bought_together(cart: Cart | None, info: CartInfo, skip: Iterable[int] = (),
                    limit: int = MAX_SHOWN) -> list[UpsellOffer]:
    """Up to ``limit`` offers for the drawer of ``cart`` (lines in ``info``), skipping product
    ids ``skip`` (the upsell's). No query when the merchant's cached pairs have no partner
    for the cart; otherwise one (``cart.upsell.buyable_offers``)."""
    if cart is None or info.is_empty:
        return []
    found = candidates(company_pairs(cart.company_id), (line.product_id for line in info.lines), skip)
    return buyable_offers(cart.company_id, found)[:limit]
