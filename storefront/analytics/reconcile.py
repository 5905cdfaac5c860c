"""Attribution reconciliation: compare orders with their visits over a date range and list
every gap (an order without a visit, a UTM value or landing page lost between the visit and
the order, an experiment variant missing for a visit made while its page's experiment ran).

A report over the source tables (orders, visits, exposures) by an indexed range on the
orders' time, run by ``flask analytics reconcile``; dashboards never use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storefront.analytics.experiments import is_bot
from storefront.analytics.models import Experiment, ExperimentExposure
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.visits.models import Visit

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True)
class Gap:
    """One gap: ``kind`` (no_visit, utm_lost, page_lost, variant_missing), the order's id
    and number, and a ``detail`` for the merchant."""

    kind: str
    order_id: int
    number: str
    detail: str


def gaps(company_id: int, start: datetime, end: datetime) -> list[Gap]:
    """Every attribution gap of ``company_id``'s orders created in [start, end) (aware UTC),
    in order id order. Two queries."""
    found: list[Gap] = []
    rows = db.session.execute(
        select(Order, Visit).outerjoin(Visit, Visit.id == Order.visit_id)
        .where(Order.company_id == company_id, Order.created_at >= start, Order.created_at < end)
        .order_by(Order.id)
    ).all()
    for order, visit in rows:
        if visit is None:
            found.append(Gap("no_visit", order.id, order.number, "The order has no visit: its source is unknown."))
            continue
        for field in UTM:
            if (getattr(order, field) or "") != (getattr(visit, field) or ""):
                found.append(Gap("utm_lost", order.id, order.number,
                                 f"{field}: the visit had {getattr(visit, field)!r}, the order {getattr(order, field)!r}."))
        if order.landing_page_id != visit.landing_page_id:
            found.append(Gap("page_lost", order.id, order.number,
                             f"Landing page: the visit's {visit.landing_page_id}, the order's {order.landing_page_id}."))
    visits = [visit for _order, visit in rows if visit is not None and not is_bot(visit.user_agent)]
    if visits:
        running = db.session.execute(
            select(Experiment.id, Experiment.landing_page_id, Experiment.started_at, Experiment.stopped_at)
            .where(Experiment.company_id == company_id, Experiment.started_at.is_not(None),
                   Experiment.landing_page_id.in_({v.landing_page_id for v in visits if v.landing_page_id}))
        ).all()
        exposed = set(db.session.execute(
            select(ExperimentExposure.experiment_id, ExperimentExposure.visitor_id)
            .where(ExperimentExposure.company_id == company_id,
                   ExperimentExposure.visitor_id.in_({v.visitor_id for v in visits}))
        ).all()) if running else set()
        by_visit = {visit.id: order for order, visit in rows if visit is not None}
        for visit in visits:
            for experiment_id, page_id, started, stopped in running:
                during = visit.landing_page_id == page_id and started <= visit.started_at and (
                    stopped is None or visit.started_at < stopped)
                if during and (experiment_id, visit.visitor_id) not in exposed:
                    order = by_visit[visit.id]
                    found.append(Gap("variant_missing", order.id, order.number,
                                     f"The visit came while experiment {experiment_id} ran, with no variant recorded."))
    return sorted(found, key=lambda gap: gap.order_id)


