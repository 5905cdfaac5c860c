"""Customer, Order and OrderLine. An order is created once per cart (unique ``cart_id``);
an order without a cart (a subscription renewal, a post-purchase upsell) is created once
per ``origin_key`` instead (unique too; NULLs never collide, so cart orders keep their rule)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow


class Customer(db.Model):
    """A buyer, unique per (company, email)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(db.Model):
    """A paid order with its attribution. Amounts are integer minor units of ``currency``;
    ``number`` is the merchant-facing order number, ``token`` the shopper's lookup token."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("company_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), unique=True)
    # What made a cartless order, e.g. "invoice-12" (a renewal): one order per origin.
    origin_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    shipping_name: Mapped[str | None] = mapped_column(String(200))
    shipping_address: Mapped[dict] = mapped_column(JSONType, default=dict)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    shipping_method: Mapped[str | None] = mapped_column(String(100))
    promotion_code: Mapped[str | None] = mapped_column(String(64))
    amount_paid_cents: Mapped[int] = mapped_column(Integer)
    # PAID, NEEDS_REVIEW (amount or promotion mismatch), REFUND_PENDING / REFUNDED (sold out).
    status: Mapped[str] = mapped_column(String(16), default="PAID")
    refund_id: Mapped[str | None] = mapped_column(String(255))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The card the shopper agreed to keep for off-session charges (a subscription's renewals,
    # the one-click upsell): the PaymentMethod and its Stripe Customer. None when not kept.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    # Attribution, copied from the cart and its visit when the order is created.
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    source_type: Mapped[str] = mapped_column(String(16), default="DIRECT")
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    # The A/B experiment variant the order's visit was shown (analytics.experiments fills it
    # from the visitor's exposure, before the order commits); None outside experiments.
    experiment_variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiment_variants.id", ondelete="SET NULL"))
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan")


class OrderLine(db.Model):
    """A snapshot of one bought variant: titles, SKU and unit price as they were when paid."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variants.id"))
    product_title: Mapped[str] = mapped_column(String(255))
    variant_title: Mapped[str] = mapped_column(String(255), default="")
    sku: Mapped[str | None] = mapped_column(String(120))
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_cents: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
