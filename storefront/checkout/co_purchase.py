"""The nightly co-purchase count behind "Frequently bought together" (issue 13 §4).

For each merchant, the paid orders (status PAID) created in the last ``WINDOW_DAYS`` days
are read as baskets of distinct products (an order line's variant → its product; lines
whose variant was deleted are skipped, and two sizes of one product are one product). Every
pair of different products in a basket counts once per order, whatever the quantities.
Pairs with at least ``catalog.co_purchase.MIN_ORDERS_TOGETHER`` orders are written to
``product_pairs`` in both directions.

Idempotent: a merchant's rows are deleted and rewritten in one transaction, so a rerun, or
two runs one after the other, leave the same table, and a reader sees either the old or the
new counts, never half. A merchant's counts only ever read its own orders.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import combinations

from sqlalchemy import delete, insert, select, union

from storefront.catalog.co_purchase import MIN_ORDERS_TOGETHER, ProductPair, clear_pairs_cache
from storefront.catalog.models import Variant
from storefront.checkout.models import Order, OrderLine
from storefront.extensions import db
from storefront.types import utcnow

# Half a year: long enough for a small shop to reach two orders of a pair, short enough
# that last season's bundles fade out. (Issue 13 §4 leaves the window to us.)
WINDOW_DAYS = 180
# Only orders whose money is settled: NEEDS_REVIEW and refunded orders don't say what
# shoppers chose to keep.
COUNTED_STATUSES = ("PAID",)


def count_pairs(baskets: Iterable[Iterable[int]]) -> Counter[tuple[int, int]]:
    """{(a, b): orders holding both}, for a < b, from ``baskets`` (one iterable of product ids
    per order; repeats within a basket count once, a one-product basket counts nothing)."""
    counts: Counter[tuple[int, int]] = Counter()
    for basket in baskets:
        counts.update(combinations(sorted(set(basket)), 2))
    return counts


def pair_rows(counts: Counter[tuple[int, int]], minimum: int = MIN_ORDERS_TOGETHER) -> list[tuple[int, int, int]]:
    """(product, other, orders together) in both directions for the pairs of ``counts`` with
    at least ``minimum`` orders, sorted."""
    rows = []
    for (a, b), together in counts.items():
        if together >= minimum:
            rows += [(a, b, together), (b, a, together)]
    return sorted(rows)


def _baskets(company_id: int, since: datetime) -> list[list[int]]:
    """The merchant's counted orders since ``since`` as lists of product ids (one query)."""
    rows = db.session.execute(
        select(OrderLine.order_id, Variant.product_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .where(Order.company_id == company_id, Variant.company_id == company_id,
               Order.status.in_(COUNTED_STATUSES), Order.created_at >= since)
        .distinct()
    ).all()
    baskets: dict[int, list[int]] = {}
    for order_id, product_id in rows:
        baskets.setdefault(order_id, []).append(product_id)
    return list(baskets.values())


def rebuild_company(company_id: int, now: datetime) -> int:
    """Rewrite the merchant's ``product_pairs`` from its orders of the WINDOW_DAYS before
    ``now`` (tz-aware UTC), in one transaction; returns how many rows it wrote."""
    rows = pair_rows(count_pairs(_baskets(company_id, now - timedelta(days=WINDOW_DAYS))))
    db.session.execute(delete(ProductPair).where(ProductPair.company_id == company_id))
    if rows:
        db.session.execute(insert(ProductPair), [
            {"company_id": company_id, "product_id": a, "other_product_id": b, "orders_together": n,
             "computed_at": now} for a, b, n in rows])
    db.session.commit()
    clear_pairs_cache(company_id)
    return len(rows)


def rebuild_all(clock: Callable[[], datetime] = utcnow) -> int:
    """Rebuild every merchant that has counted orders in the window or pairs from before
    (so pairs whose orders left the window disappear); returns the rows written. Each
    merchant is its own transaction: one merchant's failure leaves the others' counts."""
    now = clock()
    since = now - timedelta(days=WINDOW_DAYS)
    companies = db.session.execute(union(
        select(Order.company_id).where(Order.status.in_(COUNTED_STATUSES), Order.created_at >= since),
        select(ProductPair.company_id),
    )).scalars().all()
    return sum(rebuild_company(company_id, now) for company_id in sorted(companies))
