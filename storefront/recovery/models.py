"""What the cart-save flow keeps: one configuration per merchant, one attempt per abandoned
cart, and one intervention row per message (or in-page save) with its ``scheduled_at``.

The database is the source of truth for every schedule (ARCHITECTURE §5): the cron tick
finds due interventions on ``ix_cart_interventions_status_scheduled`` and enqueues them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow

# Attempt statuses (issue "Models"). ACTIVE attempts may be paused (``paused_at`` set) while
# the shopper is back on the cart.
PENDING, ACTIVE, CONVERTED, EXHAUSTED, EXPIRED = "PENDING", "ACTIVE", "CONVERTED", "EXHAUSTED", "EXPIRED"
ATTEMPT_STATUSES = (PENDING, ACTIVE, CONVERTED, EXHAUSTED, EXPIRED)
OPEN_ATTEMPT = (PENDING, ACTIVE)

# Intervention statuses: the seven, plus the delivery states of at-most-once sending
# (QUEUED: claimed by a tick and enqueued; SENDING: committed before the provider is called;
# UNKNOWN: a send that stopped between SENDING and SENT, never re-sent) and PAUSED (the
# shopper came back; resumed within 7 days).
SCHEDULED, QUEUED, SENDING, SENT, UNKNOWN = "SCHEDULED", "QUEUED", "SENDING", "SENT", "UNKNOWN"
OPENED, CLICKED, EXECUTED, FAILED, CANCELLED, PAUSED = "OPENED", "CLICKED", "EXECUTED", "FAILED", "CANCELLED", "PAUSED"
INTERVENTION_STATUSES = (SCHEDULED, QUEUED, SENDING, SENT, UNKNOWN, OPENED, CLICKED, EXECUTED, FAILED,
                         CANCELLED, PAUSED)
PENDING_INTERVENTION = (SCHEDULED, QUEUED, PAUSED)
DELIVERED_INTERVENTION = (SENT, OPENED, CLICKED, EXECUTED)


class CartSaveConfig(db.Model):
    """A merchant's cart-save flow: ``enabled``, and ``stages``, a list of stage dicts in
    the normal form of ``stages.validate_stages`` (validated on every write, by
    ``services.save_config``). ``window_start``/``window_end`` ("HH:MM") narrow the
    08:00–21:00 sending window of texts and calls. No row: the default flow, enabled."""

    __tablename__ = "cart_save_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    stages: Mapped[list] = mapped_column(JSONType, default=list)
    window_start: Mapped[str] = mapped_column(String(5), default="08:00")
    window_end: Mapped[str] = mapped_column(String(5), default="21:00")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CartSaveAttempt(db.Model):
    """One try at bringing back one abandoned cart.

    ``email``/``phone`` are the contacts when it started (an order by either stops it);
    ``reason`` the diagnosed abandonment reason (leads' analysis) that picks the messages'
    angle; ``risk_score`` 0–100; ``stage_history`` a list of {"at", "stage", "event",
    "detail"}; ``last_activity_at`` the shopper's last change to the cart, from which every
    delay counts; ``paused_at`` set while the cart is in use again (resumed when abandoned
    again within 7 days). ``order_id``/``recovered_cents`` the order that converted it.
    """

    __tablename__ = "cart_save_attempts"
    __table_args__ = (
        Index("ix_cart_save_attempts_company_status", "company_id", "status"),
        Index("ix_cart_save_attempts_cart_status", "cart_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    current_stage: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(32))
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    stage_history: Mapped[list] = mapped_column(JSONType, default=list)
    cart_value_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    recovered_cents: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    interventions: Mapped[list[CartIntervention]] = relationship(
        back_populates="attempt", order_by="CartIntervention.scheduled_at, CartIntervention.id")


class CartIntervention(db.Model):
    """One message (EMAIL, SMS or VOICE) or in-page save (REALTIME) of an attempt.

    ``stage`` is the flow's stage name, ``type`` what it is (REMINDER, NUDGE, INCENTIVE,
    CALL, FINAL, REALTIME), ``angle`` the abandonment reason its words answer.
    ``offer_code``/``offer_percent`` the unique single-use code and its percent (10, 15),
    ``offer_expires_at`` its expiry. ``schedule_reason`` says why ``scheduled_at`` was
    chosen (quiet hours, delay from the last activity). ``token`` is the 256-bit restore
    link token; ``message_key`` the notifications key the send is recorded under
    ("recovery-<id>"); ``provider_response`` what the channel answered (status, id, error,
    outcome of the call). ``order_id``/``order_cents``: the order placed through its link.
    """

    __tablename__ = "cart_interventions"
    __table_args__ = (
        Index("ix_cart_interventions_status_scheduled", "status", "scheduled_at"),
        Index("ix_cart_interventions_status_queued", "status", "queued_at"),
        Index("ix_cart_interventions_attempt", "attempt_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("cart_save_attempts.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    angle: Mapped[str | None] = mapped_column(String(32))
    offer_code: Mapped[str | None] = mapped_column(String(64))
    offer_percent: Mapped[int] = mapped_column(Integer, default=0)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    message_key: Mapped[str | None] = mapped_column(String(120))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    schedule_reason: Mapped[str | None] = mapped_column(String(500))
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_response: Mapped[dict] = mapped_column(JSONType, default=dict)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    order_cents: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    attempt: Mapped[CartSaveAttempt] = relationship(back_populates="interventions")
