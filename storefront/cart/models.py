"""Cart and LineItem. A cart belongs to one company and is found by its 256-bit token."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow

SOURCE_TYPES = ("DIRECT", "LANDING_PAGE", "FUNNEL", "EMAIL")
CART_STATUSES = ("ACTIVE", "CONVERTED", "ABANDONED", "MERGED", "EXPIRED")


class Cart(db.Model):
    """A shopper's cart. ``version`` grows on every change and keys the PaymentIntent's
    idempotency; ``checkout_fields`` holds what the shopper typed at checkout."""

    __tablename__ = "carts"
    __table_args__ = (Index("ix_carts_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"))
    source_type: Mapped[str] = mapped_column(String(16), default="DIRECT")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    currency: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer, default=1)
    checkout_fields: Mapped[dict] = mapped_column(JSONType, default=dict)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_intent_version: Mapped[int | None] = mapped_column(Integer)
    payment_error: Mapped[str | None] = mapped_column(String(500))
    # Set when the cart was merged into another (status MERGED) or the prices moved.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"))
    checkout_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The discount code the shopper entered (upper-case), and the chosen shipping method.
    promotion_code: Mapped[str | None] = mapped_column(String(64))
    shipping_method_id: Mapped[int | None] = mapped_column(ForeignKey("shipping_methods.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[LineItem]] = relationship(
        order_by="LineItem.id", cascade="all, delete-orphan", back_populates="cart"
    )

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class LineItem(db.Model):
    """A variant in a cart. ``unit_price_cents`` is the price when added, kept only to tell
    the shopper that the price changed; totals always use the variant's current price, or
    the current price of the line's subscription plan (``plan_id``) while that plan is sold."""

    __tablename__ = "line_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    # Subscribe and save: the plan the shopper chose for this line (billing's
    # SubscriptionPlan; its terms are read through catalog.plan_terms), None for one-time.
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("subscription_plans.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    variant = relationship("Variant", lazy="joined")


class SavedCartItem(db.Model):
    """A variant a shopper keeps for later: ``kind`` is "saved" (moved out of the cart) or
    "wishlist". The shopper is known by their visitor id (cookie) or, once typed, their email."""

    __tablename__ = "saved_cart_items"
    __table_args__ = (
        Index("ix_saved_cart_items_company_visitor", "company_id", "visitor_id"),
        Index("ix_saved_cart_items_company_email", "company_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="saved")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    variant = relationship("Variant")
