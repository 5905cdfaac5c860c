"""The portal's one table: the single-use links it emails (sign-in, email change).

Only a link's SHA-256 is stored: the token itself (``secrets.token_urlsafe(32)``, 256 bits)
lives in the email alone, so a read of this table signs no one in.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow


class PortalLink(db.Model):
    """One emailed link. ``purpose`` is SIGN_IN (signs ``customer_id`` in at ``company_id``)
    or EMAIL_CHANGE (moves the customer to ``new_email``, sent to that address). Valid until
    ``expires_at`` and only while ``used_at`` is None."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="SIGN_IN")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
