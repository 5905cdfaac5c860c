"""The one-click post-purchase upsell's tables: the merchant's offer and each purchase.

Money is integer minor units of ``currency``; times are timezone-aware UTC.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow


class UpsellOffer(db.Model):
    """The one product a merchant offers on the order confirmation page, bought with one
    click on the card the shopper agreed to keep (one row per merchant, ``company_id``
    unique). ``variant_id`` is what is sold, at its current price; ``headline`` is the
    merchant's line above it."""

    __tablename__ = "upsell_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), unique=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    headline: Mapped[str] = mapped_column(String(120), default="Add this to your order")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UpsellPurchase(db.Model):
    """One click's purchase of the offer after ``order_id`` (unique: an order takes the offer
    once, which is the double-click guard: the row is committed before the card is charged,
    since localstripe ignores idempotency keys).

    Status: CHARGING (the charge may have reached Stripe), SUCCEEDED (``upsell_order_id``
    is the linked order), REQUIRES_ACTION (the bank asks the shopper to confirm on the page),
    FAILED (``message`` says why; nothing was charged). ``idempotency_key`` is
    ``upsell-<id>``: the Stripe key and the intent's ``metadata.attempt_key``.
    """

    __tablename__ = "upsell_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id", ondelete="SET NULL"))
    product_title: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="CHARGING")
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    message: Mapped[str | None] = mapped_column(String(500))
    upsell_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
