"""Lead: a shopper who typed contact details at checkout, whether or not they bought."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow


class Lead(db.Model):
    """Unique per (company, email); a phone-only lead has no email. ``completion_pct`` is 0..100
    over the checkout fields; values in cents."""

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("company_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[dict] = mapped_column(JSONType, default=dict)
    source: Mapped[str] = mapped_column(String(32), default="CHECKOUT_ABANDON")
    source_detail: Mapped[str | None] = mapped_column(String(500))
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    capture_stage: Mapped[str] = mapped_column(String(32), default="CHECKOUT")
    captured_fields: Mapped[list] = mapped_column(JSONType, default=list)
    last_active_field: Mapped[str | None] = mapped_column(String(64))
    completion_pct: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="NEW")
    actual_value_cents: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
