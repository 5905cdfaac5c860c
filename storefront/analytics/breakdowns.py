"""The dashboard's commerce tables, read from the commerce rollups (``analytics.commerce``:
whole UTC days from the daily tables, the range's edge hours from the hourly ones), never
the event log: top products by views, adds and purchases; orders, average cart size
and abandonment per source type; abandonment per category.

These rollups are keyed by product, source type or category, not by landing page, so they
cover the merchant's whole shop whatever page filter the dashboard has. Rates are fractions
0..1 (None when their denominator is 0); money is integer cents.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from storefront.analytics import spans
from storefront.analytics.commerce_models import (
    CATEGORY_COUNTERS,
    DAILY,
    PRODUCT_COUNTERS,
    SOURCE_COUNTERS,
    CategoryRollup,
    ProductRollup,
    SourceRollup,
)
from storefront.catalog.models import Category, Product
from storefront.extensions import db

TOP = 10
# How a source type reads on the screen (``Cart.source_type`` / ``Order.source_type``).
# A recovery message's restore link gives its cart the message's channel (EMAIL, SMS, VOICE);
# a one-click upsell after an order is an order of its own (UPSELL, billing.upsell).
SOURCE_LABELS = {"LANDING_PAGE": "Landing page", "DIRECT": "Direct", "EMAIL": "Email", "SMS": "Text message",
                 "VOICE": "Voice call", "SUBSCRIPTION": "Subscription renewal", "UPSELL": "One-click upsell"}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Line:
    """One table row: ``key`` (a product or category id, a source type), its ``label`` and
    its summed counters."""

    key: object
    label: str
    counts: dict[str, int]

    def __getattr__(self, name: str) -> int:
        try:
            return self.counts[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def abandonment_rate(self) -> float | None:
        """Abandoned carts ÷ (orders + abandoned carts), as the dashboard's KPI."""
        abandoned = self.counts["abandoned_carts"]
        return _rate(abandoned, self.counts["orders"] + abandoned)

    @property
    def cart_size(self) -> float | None:
        """Units per order (source types only)."""
        return _rate(self.counts.get("units_ordered", 0), self.counts["orders"])

    @property
    def abandoned_cart_size(self) -> float | None:
        """Units per abandoned cart (source types only)."""
        return _rate(self.counts.get("units_abandoned", 0), self.counts["abandoned_carts"])


@dataclass(frozen=True)
class Breakdowns:
    """The commerce tables of one range: the top products three ways, every source type,
    every category, and the total over the source types (average cart size)."""

    by_views: list[Line]
    by_adds: list[Line]
    by_purchases: list[Line]
    sources: list[Line]
    categories: list[Line]
    total: Line


def _summed(model, key: str, counters: tuple[str, ...], company_id: int, start: datetime, end: datetime):
    """{key value: {counter: sum}} over [start, end): whole UTC days from the daily table,
    the edge hours from the hourly one (``spans.covering``)."""
    source = spans.covering(model, DAILY[model], (key, *counters), company_id, start, end)
    sums = [func.coalesce(func.sum(source.c[name]), 0) for name in counters]
    statement = select(source.c[key], *sums).group_by(source.c[key])
    return {row[0]: dict(zip(counters, (int(v) for v in row[1:]), strict=True))
            for row in db.session.execute(statement)}


def _top(lines: list[Line], counter: str) -> list[Line]:
    ranked = sorted((line for line in lines if line.counts[counter]), key=lambda x: (-x.counts[counter], x.label))
    return ranked[:TOP]


def build(company_id: int, start: datetime, end: datetime) -> Breakdowns:
    """The commerce tables for the rollup hours [start, end) of ``company_id``: three
    queries on the rollups (each reading whole UTC days from the daily rows, the edge hours
    from the hourly ones) and two for product and category names (own merchant's only)."""
    products = _summed(ProductRollup, "product_id", PRODUCT_COUNTERS, company_id, start, end)
    sources = _summed(SourceRollup, "source_type", SOURCE_COUNTERS, company_id, start, end)
    categories = _summed(CategoryRollup, "category_id", CATEGORY_COUNTERS, company_id, start, end)
    titles = dict(db.session.execute(select(Product.id, Product.title).where(
        Product.company_id == company_id, Product.id.in_(sorted(products)))).all()) if products else {}
    names = dict(db.session.execute(select(Category.id, Category.name).where(
        Category.company_id == company_id, Category.id.in_(sorted(categories)))).all()) if categories else {}
    product_lines = [Line(pid, titles.get(pid, "(deleted product)"), counts) for pid, counts in products.items()]
    source_lines = sorted((Line(kind, SOURCE_LABELS.get(kind, kind.title()), counts) for kind, counts in sources.items()),
                          key=lambda x: (-x.counts["orders"] - x.counts["abandoned_carts"], x.label))
    category_lines = sorted((Line(cid, names.get(cid, "(deleted category)"), counts)
                             for cid, counts in categories.items()),
                            key=lambda x: (-x.counts["abandoned_carts"], x.label))
    total = dict.fromkeys(SOURCE_COUNTERS, 0)
    for line in source_lines:
        for name in SOURCE_COUNTERS:
            total[name] += line.counts[name]
    return Breakdowns(by_views=_top(product_lines, "views"), by_adds=_top(product_lines, "adds"),
                      by_purchases=_top(product_lines, "units_sold"), sources=source_lines,
                      categories=category_lines, total=Line("", "All sources", total))


def _fraction(value: float | None) -> object:
    return "" if value is None else round(value, 4)


def export_rows(board: Breakdowns, table: str) -> list[list]:
    """The rows (header first) of one commerce table as CSV cells: ``products`` (the union of
    the three top lists), ``sources`` or ``categories``. Raises KeyError for another name."""
    if table == "products":
        seen: dict[object, Line] = {}
        for line in (*board.by_views, *board.by_adds, *board.by_purchases):
            seen.setdefault(line.key, line)
        return [["Product id", "Product", "Views", "Adds to cart", "Units added", "Orders", "Units sold",
                 "Revenue (cents)", "Abandoned carts"]] + [
            [line.key, line.label, line.views, line.adds, line.units_added, line.orders, line.units_sold,
             line.revenue_cents, line.abandoned_carts] for line in seen.values()]
    if table == "sources":
        return [["Source type", "Label", "Orders", "Revenue (cents)", "Units ordered", "Average cart size (units)",
                 "Abandoned carts", "Units abandoned", "Average abandoned cart size (units)",
                 "Cart abandonment rate"]] + [
            [line.key, line.label, line.orders, line.revenue_cents, line.units_ordered, _fraction(line.cart_size),
             line.abandoned_carts, line.units_abandoned, _fraction(line.abandoned_cart_size),
             _fraction(line.abandonment_rate)] for line in (*board.sources, board.total)]
    if table == "categories":
        return [["Category id", "Category", "Orders", "Abandoned carts", "Cart abandonment rate"]] + [
            [line.key, line.label, line.orders, line.abandoned_carts, _fraction(line.abandonment_rate)]
            for line in board.categories]
    raise KeyError(table)
