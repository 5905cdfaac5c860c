"""StripeEvent: every webhook event id we accepted, so a replay changes nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow


class StripeEvent(db.Model):
    """A received Stripe event; ``id`` is Stripe's ``evt_...`` and the primary key."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
