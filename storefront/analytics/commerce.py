"""The commerce rollups (``analytics.commerce_models``): per product, per order source type
and per category, rewritten a whole hour range at a time with the hourly rollup
(``rollups._rewrite`` calls ``rewrite`` in its transaction), then the daily sums of every
UTC day those hours touch, so a refresh killed half-way leaves the old rows of every table,
and a second run writes the same rows.

Where each figure comes from:

- a product's views: page_view events of the pages that show it (``landing_page_products``),
  counted per page and hour first, then spread to the page's products;
- its adds: add_to_cart events, whose payload names the variant (``cart.services.add_item``);
- its sales: order lines of orders created in the hour; its abandoned carts: cart lines of
  carts counted abandoned (``rollups.abandoned_cart``) in the hour of their last change;
- a source type: ``Order.source_type`` and ``Cart.source_type``;
- a category: ``product_categories`` of the products on the order's or cart's lines.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, func, insert, literal_column, select

from storefront.analytics.commerce_models import (
    CATEGORY_COUNTERS,
    DAILY,
    PRODUCT_COUNTERS,
    SOURCE_COUNTERS,
    CategoryRollup,
    ProductRollup,
    SourceRollup,
)
from storefront.analytics.sql import _as_hour, _companies, _hour, _in, abandoned_cart, sum_days
from storefront.cart.models import Cart, LineItem
from storefront.catalog.models import Variant, product_categories
from storefront.checkout.models import Order, OrderLine
from storefront.extensions import db
from storefront.landing.models import LandingPageProduct
from storefront.visits.models import VisitEvent


def _product_sources(start: datetime, end: datetime, companies: frozenset[int] | None):
    """(statement, counters): each returns company id, product id, hour, then its counters."""
    shown = select(LandingPageProduct.landing_page_id, LandingPageProduct.product_id).distinct().subquery("shown")
    event_hour = _hour(VisitEvent.created_at)
    per_page = (
        select(VisitEvent.company_id.label("company_id"), VisitEvent.landing_page_id.label("page_id"),
               event_hour.label("hour"), func.count().label("views"))
        .where(VisitEvent.type == "page_view", VisitEvent.landing_page_id.is_not(None),
               _in(VisitEvent.created_at, start, end), _companies(VisitEvent.company_id, companies))
        .group_by(VisitEvent.company_id, VisitEvent.landing_page_id, event_hour)
        .subquery("per_page")
    )
    views = (
        select(per_page.c.company_id, shown.c.product_id, per_page.c.hour, func.sum(per_page.c.views))
        .join(shown, shown.c.landing_page_id == per_page.c.page_id)
        .group_by(per_page.c.company_id, shown.c.product_id, per_page.c.hour)
    )
    # The payload is written by the cart service only: {"variant_id", "quantity", "price_cents"}.
    added_variant = VisitEvent.payload["variant_id"].as_integer()
    quantity = func.coalesce(VisitEvent.payload["quantity"].as_integer(), literal_column("1"))
    adds = (
        select(VisitEvent.company_id, Variant.product_id, event_hour, func.count(), func.sum(quantity))
        .join(Variant, (Variant.id == added_variant) & (Variant.company_id == VisitEvent.company_id))
        .where(VisitEvent.type == "add_to_cart", _in(VisitEvent.created_at, start, end),
               _companies(VisitEvent.company_id, companies))
        .group_by(VisitEvent.company_id, Variant.product_id, event_hour)
    )
    order_hour = _hour(Order.created_at)
    sold = (
        select(Order.company_id, Variant.product_id, order_hour, func.count(func.distinct(Order.id)),
               func.sum(OrderLine.quantity), func.sum(OrderLine.line_total_cents))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .where(_in(Order.created_at, start, end), _companies(Order.company_id, companies))
        .group_by(Order.company_id, Variant.product_id, order_hour)
    )
    cart_hour = _hour(Cart.updated_at)
    left = (
        select(Cart.company_id, Variant.product_id, cart_hour, func.count(func.distinct(Cart.id)))
        .select_from(LineItem).join(Cart, Cart.id == LineItem.cart_id)
        .join(Variant, Variant.id == LineItem.variant_id)
        .where(_in(Cart.updated_at, start, end), _companies(Cart.company_id, companies), abandoned_cart())
        .group_by(Cart.company_id, Variant.product_id, cart_hour)
    )
    return ((views, ("views",)), (adds, ("adds", "units_added")),
            (sold, ("orders", "units_sold", "revenue_cents")), (left, ("abandoned_carts",)))


def _source_sources(start: datetime, end: datetime, companies: frozenset[int] | None):
    order_hour, cart_hour = _hour(Order.created_at), _hour(Cart.updated_at)
    in_orders = (_in(Order.created_at, start, end), _companies(Order.company_id, companies))
    orders = (
        select(Order.company_id, Order.source_type, order_hour, func.count(Order.id),
               func.coalesce(func.sum(Order.amount_paid_cents), 0))
        .where(*in_orders).group_by(Order.company_id, Order.source_type, order_hour)
    )
    units = (
        select(Order.company_id, Order.source_type, order_hour, func.sum(OrderLine.quantity))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(*in_orders).group_by(Order.company_id, Order.source_type, order_hour)
    )
    carts = (
        select(Cart.company_id, Cart.source_type, cart_hour, func.count(func.distinct(Cart.id)),
               func.coalesce(func.sum(LineItem.quantity), 0))
        .select_from(Cart).outerjoin(LineItem, LineItem.cart_id == Cart.id)
        .where(_in(Cart.updated_at, start, end), _companies(Cart.company_id, companies), abandoned_cart())
        .group_by(Cart.company_id, Cart.source_type, cart_hour)
    )
    return ((orders, ("orders", "revenue_cents")), (units, ("units_ordered",)),
            (carts, ("abandoned_carts", "units_abandoned")))


def _category_sources(start: datetime, end: datetime, companies: frozenset[int] | None):
    pc = product_categories
    order_hour, cart_hour = _hour(Order.created_at), _hour(Cart.updated_at)
    orders = (
        select(Order.company_id, pc.c.category_id, order_hour, func.count(func.distinct(Order.id)))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(Variant, Variant.id == OrderLine.variant_id).join(pc, pc.c.product_id == Variant.product_id)
        .where(_in(Order.created_at, start, end), _companies(Order.company_id, companies))
        .group_by(Order.company_id, pc.c.category_id, order_hour)
    )
    carts = (
        select(Cart.company_id, pc.c.category_id, cart_hour, func.count(func.distinct(Cart.id)))
        .select_from(LineItem).join(Cart, Cart.id == LineItem.cart_id)
        .join(Variant, Variant.id == LineItem.variant_id).join(pc, pc.c.product_id == Variant.product_id)
        .where(_in(Cart.updated_at, start, end), _companies(Cart.company_id, companies), abandoned_cart())
        .group_by(Cart.company_id, pc.c.category_id, cart_hour)
    )
    return ((orders, ("orders",)), (carts, ("abandoned_carts",)))


# Each table: its model, the key column after company id, its counters and its statements.
TABLES = (
    (ProductRollup, "product_id", PRODUCT_COUNTERS, _product_sources),
    (SourceRollup, "source_type", SOURCE_COUNTERS, _source_sources),
    (CategoryRollup, "category_id", CATEGORY_COUNTERS, _category_sources),
)


def _merged(sources, key: str, counters: tuple[str, ...]) -> list[dict]:
    merged: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(counters, 0))
    for statement, names in sources:
        for row in db.session.execute(statement):
            into = merged[(row[0], row[1], _as_hour(row[2]))]
            for name, value in zip(names, row[3:], strict=True):
                into[name] += int(value or 0)
    return [{"company_id": c, key: k, "hour": h, **values} for (c, k, h), values in merged.items()]


def commerce_rows(start: datetime, end: datetime, companies: frozenset[int] | None = None) -> dict[type, list[dict]]:
    """The rows of each commerce rollup table for the hours [start, end) (aware, whole
    hours) of ``companies`` (None: all), computed from the source tables: {model: rows}."""
    return {model: _merged(sources(start, end, companies), key, counters)
            for model, key, counters, sources in TABLES}


def rewrite(start: datetime, end: datetime, companies: frozenset[int] | None) -> int:
    """Replace the commerce rollup rows of [start, end) for ``companies`` (None: all), then
    their daily rows for every UTC day touching those hours (``rewrite_days``), in the
    caller's transaction; returns the hourly rows written."""
    written = 0
    for model, rows in commerce_rows(start, end, companies).items():
        db.session.execute(
            delete(model).where(_in(model.hour, start, end), _companies(model.company_id, companies))
            .execution_options(synchronize_session=False))
        if rows:
            db.session.execute(insert(model), rows)
            written += len(rows)
    rewrite_days(start, end, companies)
    return written


def rewrite_days(start: datetime, end: datetime, companies: frozenset[int] | None = None) -> int:
    """Rewrite the daily rows of the three commerce rollups for every UTC day touching the
    hours [start, end) of ``companies`` (None: all) from their hourly rows
    (``sql.sum_days``); idempotent. Returns the rows written."""
    return sum(sum_days(hourly, DAILY[hourly], (key,), counters, start, end, companies)
               for hourly, key, counters, _sources in TABLES)
