"""Headline metrics for the admin home: visits, add-to-carts, orders, revenue, new leads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads.models import Lead
from storefront.visits.models import Visit, VisitEvent


@dataclass(frozen=True)
class Headline:
    """Counts over one period; ``revenue_cents`` in the merchant's currency (paid amounts)."""

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
    """Counts for ``company_id`` from ``since`` (aware UTC) until now: five indexed queries."""
    count = db.func.count
    visits = db.session.execute(
        db.select(count(Visit.id)).where(Visit.company_id == company_id, Visit.started_at >= since)
    ).scalar_one()
    adds = db.session.execute(
        db.select(count(VisitEvent.id)).where(
            VisitEvent.company_id == company_id, VisitEvent.type == "add_to_cart", VisitEvent.created_at >= since
        )
    ).scalar_one()
    orders, revenue = db.session.execute(
        db.select(count(Order.id), db.func.coalesce(db.func.sum(Order.amount_paid_cents), 0)).where(
            Order.company_id == company_id, Order.created_at >= since
        )
    ).one()
    leads = db.session.execute(
        db.select(count(Lead.id)).where(Lead.company_id == company_id, Lead.created_at >= since)
    ).scalar_one()
    return Headline(visits=visits, add_to_carts=adds, orders=orders, revenue_cents=int(revenue), new_leads=leads)
