"""Headline metrics for the admin home (visits, add-to-carts, orders, revenue, new leads),
read from the hourly rollups like every analytics figure (``analytics.rollups``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storefront.analytics.models import HourlyRollup
from storefront.analytics.rollups import floor_hour
from storefront.extensions import db


@dataclass(frozen=True)
class Headline:
    """Counts over one period; ``revenue_cents`` in the merchant's currency (paid amounts);
    ``add_to_carts`` counts visits with an add to cart (once per visit)."""

    visits: int
    add_to_carts: int
    orders: int
    revenue_cents: int
    new_leads: int

    @property
    def conversion_rate(self) -> float | None:
        """Orders per visit, 0..1; None without visits."""
        return self.orders / self.visits if self.visits else None


def headline(company_id: int, since: datetime) -> Headline:
    """Counts for ``company_id`` from the hour of ``since`` (aware UTC; a local midnight in a
    whole-hour timezone is exact) until the last rollup refresh: one query on the rollups."""
    total = lambda column: db.func.coalesce(db.func.sum(column), 0)  # noqa: E731
    r = HourlyRollup
    row = db.session.execute(
        db.select(total(r.visits), total(r.add_to_cart_visits), total(r.orders), total(r.revenue_cents),
                  total(r.new_leads))
        .where(r.company_id == company_id, r.hour >= floor_hour(since))
    ).one()
    visits, adds, orders, revenue, leads = (int(v) for v in row)
    return Headline(visits=visits, add_to_carts=adds, orders=orders, revenue_cents=revenue, new_leads=leads)
