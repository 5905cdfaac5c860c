"""Pricing data: promotions and their codes and usages, tax rates, shipping zones and methods.

The rules that use them are pure functions in ``promotions``, ``tax`` and ``shipping``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow

PROMOTION_TYPES = ("PERCENTAGE_OFF", "FIXED_AMOUNT_OFF", "BUY_X_GET_Y", "FREE_SHIPPING", "FREE_GIFT")
PROMOTION_SCOPES = ("CART", "PRODUCT", "CATEGORY", "SHIPPING")
SHIPPING_RULE_TYPES = ("FLAT_RATE", "PER_ITEM", "WEIGHT_BASED", "PRICE_BASED", "FREE")


class Promotion(db.Model):
    """A discount. ``percent_bp`` is basis points (1000 = 10 %); ``amount_cents`` a fixed
    amount in the company's currency. An ``automatic`` promotion applies by itself; otherwise
    the shopper enters its ``code`` or one of its generated single-use PromotionCodes
    (matched case-insensitively: codes are stored upper-case).
    ``usage_limit`` counts all uses, ``per_customer_limit`` uses per email."""

    __tablename__ = "promotions"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str] = mapped_column(String(16), default="CART")
    code: Mapped[str | None] = mapped_column(String(64))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    percent_bp: Mapped[int] = mapped_column(Integer, default=0)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    buy_quantity: Mapped[int] = mapped_column(Integer, default=0)
    get_quantity: Mapped[int] = mapped_column(Integer, default=0)
    gift_variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    product_ids: Mapped[list] = mapped_column(JSONType, default=list)
    category_ids: Mapped[list] = mapped_column(JSONType, default=list)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    combinable: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    codes: Mapped[list[PromotionCode]] = relationship(back_populates="promotion", cascade="all, delete-orphan")


class PromotionCode(db.Model):
    """A generated single-use code of a promotion (e.g. for a recovery email), with an expiry."""

    __tablename__ = "promotion_codes"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    promotion: Mapped[Promotion] = relationship(back_populates="codes")


class PromotionUsage(db.Model):
    """One use of a promotion by an order, recorded with the order under a row lock."""

    __tablename__ = "promotion_usages"
    __table_args__ = (
        UniqueConstraint("promotion_id", "order_id"),
        Index("ix_promotion_usages_promotion_email", "promotion_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    promotion_code_id: Mapped[int | None] = mapped_column(ForeignKey("promotion_codes.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    discount_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaxRate(db.Model):
    """A tax rate chosen by the shipping address (WooCommerce's model). ``rate_micro`` is the
    percentage times 10,000, so 20.0000 % = 200000 (WooCommerce keeps 4 decimals).
    Empty ``state``/``city``/``postcodes`` match any. ``postcodes`` holds patterns where ``*``
    ends a prefix (e.g. "902*") or "10000...10999" ranges."""

    __tablename__ = "tax_rates"
    __table_args__ = (Index("ix_tax_rates_company_country", "company_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    country: Mapped[str] = mapped_column(String(2), default="")
    state: Mapped[str] = mapped_column(String(32), default="")
    postcodes: Mapped[list] = mapped_column(JSONType, default=list)
    cities: Mapped[list] = mapped_column(JSONType, default=list)
    rate_micro: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100), default="Tax")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    compound: Mapped[bool] = mapped_column(Boolean, default=False)
    applies_to_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    tax_class: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class ShippingZone(db.Model):
    """Where a set of shipping methods applies: ISO countries, ``CC:STATE`` states and
    postcode patterns (same syntax as TaxRate). Zones are tried in ``position`` order."""

    __tablename__ = "shipping_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    countries: Mapped[list] = mapped_column(JSONType, default=list)
    states: Mapped[list] = mapped_column(JSONType, default=list)
    postcodes: Mapped[list] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    methods: Mapped[list[ShippingMethod]] = relationship(
        order_by="ShippingMethod.position", cascade="all, delete-orphan", back_populates="zone"
    )


class ShippingMethod(db.Model):
    """A rule of a zone. FLAT_RATE: ``amount_cents``; PER_ITEM: ``amount_cents`` per unit;
    WEIGHT_BASED: ``amount_cents`` + ``per_kg_cents`` per started kg of the variants' grams;
    PRICE_BASED: ``tiers`` [[min subtotal cents, cost cents], ...]; FREE: free when the
    subtotal after discounts is ≥ ``free_above_cents`` (0 = always)."""

    __tablename__ = "shipping_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("shipping_zones.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    per_kg_cents: Mapped[int] = mapped_column(Integer, default=0)
    free_above_cents: Mapped[int] = mapped_column(Integer, default=0)
    tiers: Mapped[list] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The delivery estimate in business days (0..60, min <= max; MethodForm), shown to
    # shoppers as "arrives in 2–4 business days"; None: the merchant gave none.
    min_days: Mapped[int | None] = mapped_column(SmallInteger)
    max_days: Mapped[int | None] = mapped_column(SmallInteger)

    zone: Mapped[ShippingZone] = relationship(back_populates="methods")
