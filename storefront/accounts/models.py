"""The merchant (Company) and its admin Users: every merchant-owned row carries ``company_id``."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow


class Company(db.Model):
    """A merchant. ``currency`` is ISO 4217; ``timezone`` is an IANA name used for display."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    support_email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16), default="en_US")
    # Prices entered tax-inclusive (VAT style) or tax-exclusive (US style); see pricing.tax.
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    # Exit-intent offer: {"enabled": bool, "percent_bp": int, "headline": str, "valid_hours": int}.
    exit_offer: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Lead value weights overriding the defaults of leads.value (cents and multipliers).
    lead_value_config: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Last order number handed out; bumped under a row lock (checkout.numbers).
    order_number_seq: Mapped[int] = mapped_column(Integer, default=1000)
    # Days the raw event log is kept (analytics.retention); the rollups are kept regardless.
    event_retention_days: Mapped[int] = mapped_column(Integer, default=400, server_default="400")
    # The instant before which the event log was last purged: the rollups keep those hours as they are.
    events_purged_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(db.Model, UserMixin):
    """A merchant's admin user. ``role`` is owner or staff; ``password_hash`` is scrypt
    (werkzeug). ``session_nonce`` changes on sign-out and password change, so every session
    cookie issued before stops working ("sign out everywhere")."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="staff")
    session_nonce: Mapped[str] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[Company] = relationship(lazy="joined")

    def get_id(self) -> str:
        """Flask-Login's id: the user id and the session nonce, so a new nonce ends old sessions."""
        return f"{self.id}:{self.session_nonce}"


class LoginThrottle(db.Model):
    """Sign-in attempts counted in the database: used only when the shared rate-limit store
    (Redis) is away, so every web process counts against the same limit
    (``accounts.throttle``). ``key`` is "ip:" or "account:" plus a 64-hex HMAC;
    ``window_start`` is the start of a fixed window of the limit's length."""

    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    window_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
