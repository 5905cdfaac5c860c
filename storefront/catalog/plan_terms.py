"""Subscribe-and-save terms as the shop shows and sells them: which plan a variant can be
subscribed to, at what price, how often.

The plans themselves are billing's (``billing.models.SubscriptionPlan``), which sits above
the catalog, the landing pages and the cart that show and sell them (ARCHITECTURE §2). So
those read the few columns they need through ``PLANS``, a light table clause naming the same
table, inside their existing statements (a variant's plan comes with the variant, a line's
plan with the line): no import upwards and no extra query. ``tests/unit/
test_plan_terms.py`` checks that every column named here exists on billing's model.

A variant's plan is the merchant's ACTIVE plan for that variant, else for its whole product
(``variant_id`` NULL), the oldest first.
"""
from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, column, or_, select, table
from sqlalchemy.orm import column_property

from storefront.catalog.models import Variant
from storefront.types import utcnow

PLANS = table(
    "subscription_plans",
    column("id", Integer), column("company_id", Integer), column("product_id", Integer),
    column("variant_id", Integer), column("price_cents", Integer), column("currency", String),
    column("interval", String), column("interval_count", Integer), column("status", String),
)

INTERVAL_WORDS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def add_interval(start: datetime, interval: str, count: int) -> datetime:
    """``start`` moved on by ``count`` intervals; months and years keep the day of month,
    clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    if interval == "DAILY":
        return start + timedelta(days=count)
    if interval == "WEEKLY":
        return start + timedelta(weeks=count)
    months = count * (12 if interval == "YEARLY" else 1)
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, monthrange(year, month0 + 1)[1])
    return start.replace(year=year, month=month0 + 1, day=day)


def describe_interval(interval: str | None, count: int | None) -> str:
    """"every month", "every 2 weeks", ... for the shopper-facing terms ("" for none)."""
    unit = INTERVAL_WORDS.get(interval or "")
    if unit is None:
        return ""
    count = count or 1
    return f"every {unit}" if count == 1 else f"every {count} {unit}s"


def first_renewal(interval: str | None, count: int | None, now: datetime | None = None) -> datetime:
    """When a subscription started ``now`` (default: the clock, UTC) is next charged: one
    interval on, as ``billing`` bills it (the first period is paid at checkout)."""
    return add_interval(now or utcnow(), interval or "MONTHLY", count or 1)


def save_percent(regular_cents: int | None, plan_cents: int | None) -> int:
    """Whole percent the plan saves against the one-time price, rounded down; 0 when it
    saves nothing (or a price is missing)."""
    if not regular_cents or plan_cents is None or plan_cents >= regular_cents:
        return 0
    return (regular_cents - plan_cents) * 100 // regular_cents


def _variant_plan(col):
    """The ``col`` of the variant's plan (see the module docstring), as a correlated scalar
    subquery on ``variants``."""
    return (
        select(col)
        .where(PLANS.c.company_id == Variant.company_id, PLANS.c.product_id == Variant.product_id,
               PLANS.c.status == "ACTIVE",
               or_(PLANS.c.variant_id == Variant.id, PLANS.c.variant_id.is_(None)))
        .order_by(PLANS.c.variant_id.is_(None), PLANS.c.id)
        .limit(1)
        .correlate_except(PLANS)
        .scalar_subquery()
    )


# Deferred (group "plan"): only the landing page's product query asks for them
# (``undefer_group("plan")``), so every other read of a variant stays as it was.
Variant.plan_id = column_property(_variant_plan(PLANS.c.id), deferred=True, group="plan")
Variant.plan_price_cents = column_property(_variant_plan(PLANS.c.price_cents), deferred=True, group="plan")
Variant.plan_interval = column_property(_variant_plan(PLANS.c.interval), deferred=True, group="plan")
Variant.plan_interval_count = column_property(_variant_plan(PLANS.c.interval_count), deferred=True, group="plan")
