"""Attribution reconciliation: compare orders with their visits over a date range and list
every gap (an order without a visit, a UTM value or landing page lost between the visit and
the order, an experiment variant missing for a visit made while its page's experiment ran,
an order whose own ``experiment_variant_id`` differs from the variant its visit was shown).

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
    """One gap: ``kind`` (no_visit, utm_lost, page_lost, variant_missing, variant_mismatch,
    variant_not_on_order), the order's id
    and number, and a ``detail`` for the merchant."""

    kind: str
    order_id: int
    number: str
    detail: str


def _order_variant_gaps(order: Order, shown: set[int]) -> list[Gap]:
    """The order's own ``experiment_variant_id`` against the variants its visit was shown
    (``shown``, from the exposures): a variant the visit was not shown (variant_mismatch), or
    none where the visit was shown one (variant_not_on_order). The rollups key an order by
    its own column first (``analytics.rollups``), so either gap moves it between variants."""
    recorded = order.experiment_variant_id
    if recorded is not None and recorded not in shown:
        seen = ", ".join(str(v) for v in sorted(shown)) or "none"
        return [Gap("variant_mismatch", order.id, order.number,
                    f"The order records variant {recorded}; its visit was shown: {seen}.")]
    if recorded is None and shown:
        return [Gap("variant_not_on_order", order.id, order.number,
                    f"The visit was shown variant {min(shown)}; the order records none.")]
    return []


def gaps(company_id: int, start: datetime, end: datetime) -> list[Gap]:
    """Every attribution gap of ``company_id``'s orders created in [start, end) (aware UTC),
    in order id order. At most three queries."""
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
    running = db.session.execute(
        select(Experiment.id, Experiment.landing_page_id, Experiment.started_at, Experiment.stopped_at)
        .where(Experiment.company_id == company_id, Experiment.started_at.is_not(None),
               Experiment.landing_page_id.in_({v.landing_page_id for v in visits if v.landing_page_id}))
    ).all() if visits else []
    # (experiment id, visitor id) -> the variant the visitor was shown.
    exposed = {(experiment_id, visitor_id): variant_id for experiment_id, visitor_id, variant_id in db.session.execute(
        select(ExperimentExposure.experiment_id, ExperimentExposure.visitor_id, ExperimentExposure.variant_id)
        .where(ExperimentExposure.company_id == company_id,
               ExperimentExposure.visitor_id.in_({v.visitor_id for v in visits}))
    ).all()} if running else {}
    by_visit = {visit.id: order for order, visit in rows if visit is not None}
    for visit in visits:
        order = by_visit[visit.id]
        shown: set[int] = set()  # the variants this visit's exposures name
        for experiment_id, page_id, started, stopped in running:
            during = visit.landing_page_id == page_id and started <= visit.started_at and (
                stopped is None or visit.started_at < stopped)
            if not during:
                continue
            if (experiment_id, visit.visitor_id) in exposed:
                shown.add(exposed[(experiment_id, visit.visitor_id)])
            else:
                found.append(Gap("variant_missing", order.id, order.number,
                                 f"The visit came while experiment {experiment_id} ran, with no variant recorded."))
        found.extend(_order_variant_gaps(order, shown))
    return sorted(found, key=lambda gap: gap.order_id)


