"""The commerce rollups beside ``HourlyRollup``: per product, per order source type and per
category, one hour (UTC) of one merchant each, and their daily sums. They are rewritten with
the hourly rollup, in the same transaction and for the same hours (``analytics.commerce``),
so they share its watermark, late-row scan, dirty hours and advisory lock; the dashboard
reads them, never the event log.

Kept apart from ``analytics.models`` because their keys are not the visit's (page, variant,
UTM): a product, a cart's source type or a category.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime

PRODUCT_COUNTERS: tuple[str, ...] = ("views", "adds", "units_added", "orders", "units_sold", "revenue_cents",
                                     "abandoned_carts")
SOURCE_COUNTERS: tuple[str, ...] = ("orders", "units_ordered", "revenue_cents", "abandoned_carts", "units_abandoned")
CATEGORY_COUNTERS: tuple[str, ...] = ("orders", "abandoned_carts")


class _Product:
    """The key part and counters the hourly and daily product rollups share (meaning on
    ``ProductRollup``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    product_id: Mapped[int] = mapped_column(Integer)
    views: Mapped[int] = mapped_column(Integer, default=0)
    adds: Mapped[int] = mapped_column(Integer, default=0)
    units_added: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    units_sold: Mapped[int] = mapped_column(Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    abandoned_carts: Mapped[int] = mapped_column(Integer, default=0)


class _Source:
    """The key part and counters the hourly and daily source type rollups share (meaning on
    ``SourceRollup``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    source_type: Mapped[str] = mapped_column(String(16))
    orders: Mapped[int] = mapped_column(Integer, default=0)
    units_ordered: Mapped[int] = mapped_column(Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    abandoned_carts: Mapped[int] = mapped_column(Integer, default=0)
    units_abandoned: Mapped[int] = mapped_column(Integer, default=0)


class _Category:
    """The key part and counters the hourly and daily category rollups share (meaning on
    ``CategoryRollup``)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    category_id: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    abandoned_carts: Mapped[int] = mapped_column(Integer, default=0)


class ProductRollup(_Product, db.Model):
    """One hour of one product of a merchant (``product_id``: no foreign key, so a deleted
    product's history stays):

    - ``views``: page views (events) of the landing pages that show the product in a section;
    - ``adds``, ``units_added``: add_to_cart events of its variants, and their quantities;
    - ``orders``, ``units_sold``, ``revenue_cents``: orders created in the hour with a line of
      it, its units and its line totals (cents, before order-level discounts);
    - ``abandoned_carts``: abandoned carts (the rule of ``HourlyRollup.abandoned_carts``)
      holding it, in the hour of the cart's last change.
    """

    __tablename__ = "analytics_product_hourly"
    __table_args__ = (
        UniqueConstraint("company_id", "hour", "product_id", name="uq_analytics_product_hourly_key"),
        Index("ix_analytics_product_hourly_hour", "hour"),
    )

    hour: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceRollup(_Source, db.Model):
    """One hour of one merchant's carts and orders of one source type: the
    ``Cart.source_type`` / ``Order.source_type`` of the storefront (LANDING_PAGE, DIRECT,
    EMAIL for a visit from an email or a recovery email link, SMS / VOICE for a recovery
    link, SUBSCRIPTION for a renewal).

    - ``orders``, ``units_ordered``, ``revenue_cents``: orders created in the hour, their
      units (the sum of their lines' quantities) and paid amounts (cents);
    - ``abandoned_carts``, ``units_abandoned``: abandoned carts and their units, in the hour
      of the cart's last change.
    """

    __tablename__ = "analytics_source_hourly"
    __table_args__ = (
        UniqueConstraint("company_id", "hour", "source_type", name="uq_analytics_source_hourly_key"),
        Index("ix_analytics_source_hourly_hour", "hour"),
    )

    hour: Mapped[datetime] = mapped_column(UTCDateTime)


class CategoryRollup(_Category, db.Model):
    """One hour of one category of a merchant: ``orders`` created in the hour with a line of
    a product in the category, ``abandoned_carts`` holding one (each counted once per
    category however many of its products the order or cart holds)."""

    __tablename__ = "analytics_category_hourly"
    __table_args__ = (
        UniqueConstraint("company_id", "hour", "category_id", name="uq_analytics_category_hourly_key"),
        Index("ix_analytics_category_hourly_hour", "hour"),
    )

    hour: Mapped[datetime] = mapped_column(UTCDateTime)


# The daily sums: one UTC day (``day``, its midnight) of the hourly table above, rewritten by
# the refresh for every day one of whose hours it rewrote, in the same transaction and under
# the same lock (``analytics.commerce.rewrite``), so a day always equals the sum of its
# hours. The dashboard reads whole UTC days from here and a range's edge hours from the
# hourly table (``analytics.spans``), as for ``DailyRollup``.


class ProductDaily(_Product, db.Model):
    """One UTC day of ``ProductRollup``: same key, each counter the sum of the day's hours."""

    __tablename__ = "analytics_product_daily"
    __table_args__ = (UniqueConstraint("company_id", "day", "product_id", name="uq_analytics_product_daily_key"),)

    day: Mapped[datetime] = mapped_column(UTCDateTime)


class SourceDaily(_Source, db.Model):
    """One UTC day of ``SourceRollup``: same key, each counter the sum of the day's hours."""

    __tablename__ = "analytics_source_daily"
    __table_args__ = (UniqueConstraint("company_id", "day", "source_type", name="uq_analytics_source_daily_key"),)

    day: Mapped[datetime] = mapped_column(UTCDateTime)


class CategoryDaily(_Category, db.Model):
    """One UTC day of ``CategoryRollup``: same key, each counter the sum of the day's hours."""

    __tablename__ = "analytics_category_daily"
    __table_args__ = (UniqueConstraint("company_id", "day", "category_id", name="uq_analytics_category_daily_key"),)

    day: Mapped[datetime] = mapped_column(UTCDateTime)


# Each hourly table's daily sums (``analytics.spans.covering`` reads the pair).
DAILY: dict[type, type] = {ProductRollup: ProductDaily, SourceRollup: SourceDaily, CategoryRollup: CategoryDaily}
