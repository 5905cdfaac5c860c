"""Visit (the LandingPageSession) and VisitEvent, the per-visit event log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow


class Visit(db.Model):
    """A shopper's visit from a landing page (the LandingPageSession).

    ``token`` is the 256-bit cookie value; ``ip_hash`` is HMAC-SHA256 of the IP with the
    server secret, never the raw IP; ``visitor_id`` is the long-lived returning-visitor id.
    """

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"), index=True)
    visitor_id: Mapped[str] = mapped_column(String(64), index=True)
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    referrer: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(String(500))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "Don't save my details": no progressive capture for this visit.
    capture_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)


class VisitEvent(db.Model):
    """The per-visit event log: page_view, add_to_cart, checkout_started, payment_submitted,
    order_completed. Indexed for per-page, per-day queries.

    ``event_key`` (32 hex characters, unique; NULL for events written in their request's
    own transaction) is given to an event when it is buffered (``visits.buffer``): the flush
    and the direct-write fallback insert it with ``ON CONFLICT DO NOTHING``, so an event that
    reached both, or a flush run twice, is still one row, and an hourly rollup counts it once.
    """

    __tablename__ = "visit_events"
    __table_args__ = (
        Index("ix_visit_events_page_time", "landing_page_id", "created_at"),
        Index("ix_visit_events_type_time", "type", "created_at"),
        # Retention deletes and time ranges: events are written in time order, so a BRIN
        # index (kilobytes) finds an old month as fast as a B-tree (megabytes). Autovacuum
        # summarises each block range as it fills; an unsummarised range is always read.
        Index("ix_visit_events_created_brin", "created_at", postgresql_using="brin",
              postgresql_with={"autosummarize": "on"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    landing_page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id"))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_key: Mapped[str | None] = mapped_column(String(32), unique=True)
