"""Leads: shoppers who typed contact details at checkout, with their timeline, notes, field
events and abandonment analyses."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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
    # Scores from 0 to 1 (ratios, not money).
    engagement_score: Mapped[float] = mapped_column(Float, default=0.0)
    abandonment_risk: Mapped[float] = mapped_column(Float, default=0.0)
    purchase_intent: Mapped[float] = mapped_column(Float, default=0.0)
    estimated_value_cents: Mapped[int] = mapped_column(Integer, default=0)
    actual_value_cents: Mapped[int | None] = mapped_column(Integer)
    # The cart when last captured: {"lines": [...], "value_cents": int, "currency": str}.
    cart_snapshot: Mapped[dict] = mapped_column(JSONType, default=dict)
    cart_value_cents: Mapped[int] = mapped_column(Integer, default=0)
    products_viewed: Mapped[list] = mapped_column(JSONType, default=list)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    abandonment_reason: Mapped[str | None] = mapped_column(String(32))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LeadActivity(db.Model):
    """The lead's timeline: EMAIL_CAPTURED, FIELD_CAPTURED, CART_UPDATED, CHECKOUT_STARTED,
    PAYMENT_FAILED, STATUS_CHANGED, NOTE_ADDED, ORDER_PLACED, ... with a small payload."""

    __tablename__ = "lead_activities"
    __table_args__ = (Index("ix_lead_activities_lead_time", "lead_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeadNote(db.Model):
    """A free note by an admin user on a lead."""

    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FieldEvent(db.Model):
    """One interaction with a checkout field. Never holds a value: only whether there is
    one and its length (and nothing at all of a payment field's content)."""

    __tablename__ = "field_events"
    __table_args__ = (
        Index("ix_field_events_visit_time", "visit_id", "occurred_at"),
        Index("ix_field_events_lead_time", "lead_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(24))
    field_name: Mapped[str] = mapped_column(String(64))
    field_group: Mapped[str] = mapped_column(String(16))
    has_value: Mapped[bool] = mapped_column(Boolean, default=False)
    value_length: Mapped[int] = mapped_column(Integer, default=0)
    is_valid: Mapped[bool | None] = mapped_column(Boolean)
    error_message: Mapped[str | None] = mapped_column(String(200))
    focus_ms: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AbandonmentAnalysis(db.Model):
    """Why a lead or visit stopped, computed by a periodic job after the idle time."""

    __tablename__ = "abandonment_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), unique=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    abandoned_stage: Mapped[str | None] = mapped_column(String(32))
    abandoned_section: Mapped[str | None] = mapped_column(String(32))
    last_active_field: Mapped[str | None] = mapped_column(String(64))
    completed_fields: Mapped[list] = mapped_column(JSONType, default=list)
    completed_sections: Mapped[list] = mapped_column(JSONType, default=list)
    completion_pct: Mapped[int] = mapped_column(Integer, default=0)
    total_form_ms: Mapped[int] = mapped_column(Integer, default=0)
    last_field_ms: Mapped[int] = mapped_column(Integer, default=0)
    idle_ms: Mapped[int] = mapped_column(Integer, default=0)
    validation_errors: Mapped[dict] = mapped_column(JSONType, default=dict)
    exit_intent: Mapped[bool] = mapped_column(Boolean, default=False)
    tab_switches: Mapped[int] = mapped_column(Integer, default=0)
    cart_value_cents: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(32), default="UNKNOWN")
    intervention: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
