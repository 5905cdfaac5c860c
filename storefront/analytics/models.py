"""Analytics tables: the hourly rollup the dashboards read, the refresh's state and its
queue of dirty hours.

Dashboards never read the event log (``visits.models.VisitEvent``): every figure comes
from ``HourlyRollup``, rewritten a whole hour at a time by ``analytics.rollups.refresh``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import UTCDateTime, utcnow

# The rollup's counters, in the order the refresh writes them. All counts, except
# ``revenue_cents`` (integer minor units of the merchant's currency, as ``Order.amount_paid_cents``).
COUNTERS: tuple[str, ...] = (
    "visits", "unique_visitors", "page_views", "add_to_cart_visits", "checkout_starts",
    "payments_submitted", "orders", "revenue_cents", "revenue_sq_cents", "abandoned_carts", "new_leads",
    "leads_with_email", "leads_with_phone", "leads_with_name", "leads_with_address",
)


class _KeyAndCounters:
    """The key parts (besides the merchant and the time) and the counters that the hourly
    and the daily rollup share; their meaning is on ``HourlyRollup``."""

    landing_page_id: Mapped[int] = mapped_column(Integer, default=0)
    variant_id: Mapped[int] = mapped_column(Integer, default=0)
    utm_source: Mapped[str] = mapped_column(String(200), default="")
    utm_medium: Mapped[str] = mapped_column(String(200), default="")
    utm_campaign: Mapped[str] = mapped_column(String(200), default="")
    visits: Mapped[int] = mapped_column(Integer, default=0)
    unique_visitors: Mapped[int] = mapped_column(Integer, default=0)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    add_to_cart_visits: Mapped[int] = mapped_column(Integer, default=0)
    checkout_starts: Mapped[int] = mapped_column(Integer, default=0)
    payments_submitted: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_sq_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    abandoned_carts: Mapped[int] = mapped_column(Integer, default=0)
    new_leads: Mapped[int] = mapped_column(Integer, default=0)
    leads_with_email: Mapped[int] = mapped_column(Integer, default=0)
    leads_with_phone: Mapped[int] = mapped_column(Integer, default=0)
    leads_with_name: Mapped[int] = mapped_column(Integer, default=0)
    leads_with_address: Mapped[int] = mapped_column(Integer, default=0)


class HourlyRollup(_KeyAndCounters, db.Model):
    """One hour (UTC) of one merchant's traffic for one key: landing page, experiment
    variant, UTM source / medium / campaign. A missing key part is stored as 0 (no page, no
    variant) or "" (no UTM value), so the key is unique without NULLs.

    What each counter counts, and in which hour (see ``analytics.rollups``):

    - ``visits``: visits started in the hour; ``unique_visitors``: their distinct visitor ids
      (a visitor seen in two hours counts in both, so a range's sum is an upper bound);
    - ``page_views``, ``checkout_starts``, ``payments_submitted``: events of that type in the hour;
    - ``add_to_cart_visits``: visits whose first add_to_cart is in the hour (once per visit);
    - ``orders``, ``revenue_cents``: orders created in the hour and their paid amount (cents);
      ``revenue_sq_cents`` the sum of each order's amount squared (cents², for the variance
      of revenue per visitor in experiment results);
    - ``abandoned_carts``: carts abandoned (ABANDONED, or EXPIRED after meeting the abandonment
      rule) whose last shopper change is in the hour;
    - ``new_leads`` and ``leads_with_<field>``: leads created in the hour, and those with an
      email, a phone, a first name, an address captured.
    """

    __tablename__ = "analytics_hourly"
    __table_args__ = (
        UniqueConstraint("company_id", "hour", "landing_page_id", "variant_id", "utm_source", "utm_medium",
                         "utm_campaign", name="uq_analytics_hourly_key"),
        Index("ix_analytics_hourly_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    hour: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyRollup(_KeyAndCounters, db.Model):
    """One UTC day of ``HourlyRollup``: the same key (``day`` is the UTC midnight the day
    starts at) and the same counters, each the sum of that day's hourly rows. Rewritten by
    the refresh for every day one of whose hours it rewrote, in the same transaction and
    under the same lock (``analytics.rollups``), so it always equals the sum of its hours.

    Days are UTC, not the merchant's: the dashboard reads the whole UTC days inside a range
    from here and the range's edge hours (a local day starts mid-UTC-day outside UTC) from
    the hourly rows, so a timezone change never leaves stale rows.
    """

    __tablename__ = "analytics_daily"
    __table_args__ = (
        UniqueConstraint("company_id", "day", "landing_page_id", "variant_id", "utm_source", "utm_medium",
                         "utm_campaign", name="uq_analytics_daily_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    day: Mapped[datetime] = mapped_column(UTCDateTime)


class RollupState(db.Model):
    """The refresh's one row (id 1): ``refreshed_until`` is the watermark (the hour up to
    which every hour was rewritten at least once); ``last_*_id`` the highest row ids of the
    source tables already seen, so rows that arrive late (a buffered event flushed after
    its hour was rolled up) are found by id and their hours rewritten."""

    __tablename__ = "analytics_refresh_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_visit_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_order_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_lead_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirtyHour(db.Model):
    """An hour of a merchant to rewrite at the next refresh, whatever the watermark says:
    data that changed after its hour was rolled up (a cart that converted, an erased lead)."""

    __tablename__ = "analytics_dirty_hours"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


EXPERIMENT_STATUSES = ("draft", "running", "stopped", "concluded")
EXPERIMENT_METRICS = {"conversion_rate": "Conversion rate", "revenue_per_visitor": "Revenue per visitor",
                      "add_to_cart_rate": "Add-to-cart rate"}


class Experiment(db.Model):
    """An A/B test on one landing page: a ``hypothesis``, a primary ``metric`` (a key of
    EXPERIMENT_METRICS) and a ``status`` (draft → running → stopped → concluded). At most
    one experiment of a page runs at a time, so a visit belongs to at most one."""

    __tablename__ = "experiments"
    __table_args__ = (Index("ix_experiments_page_status", "landing_page_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    landing_page_id: Mapped[int] = mapped_column(ForeignKey("landing_pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    hypothesis: Mapped[str] = mapped_column(String(1000), default="")
    metric: Mapped[str] = mapped_column(String(24), default="conversion_rate")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The audit of a conclusion: the variant whose content became the page, when, by whom,
    # and the hero heading the page had before.
    winner_variant_id: Mapped[int | None] = mapped_column(Integer)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    previous_headline: Mapped[str | None] = mapped_column(String(200))


class ExperimentVariant(db.Model):
    """One arm of an experiment: the control (the page as it is, ``page_id`` None) or a
    version of the page: ``page_id`` is its hidden copy of the page's sections, products
    and theme (``landing.versions``), edited in the page builder; ``headline`` is the hero
    heading it was created with (shown in the lists). ``weight`` is its share of traffic in
    percent (the weights of an experiment sum to 100)."""

    __tablename__ = "experiment_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(80))
    is_control: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[int] = mapped_column(Integer, default=50)
    headline: Mapped[str | None] = mapped_column(String(200))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("landing_pages.id", ondelete="SET NULL"))


class ExperimentExposure(db.Model):
    """A visitor's first view of a running experiment and the variant they were given
    (sticky: the same visitor id always hashes to the same variant). The rollups read it to
    key each visit by its variant."""

    __tablename__ = "experiment_exposures"
    __table_args__ = (UniqueConstraint("experiment_id", "visitor_id", name="uq_experiment_exposures_visitor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("experiment_variants.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
