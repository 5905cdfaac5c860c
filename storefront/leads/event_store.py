"""Storing a validated batch of field events (``field_events.parse_batch``) for the
shopper's cart, visit and lead, and refreshing the lead from them."""
from __future__ import annotations

from sqlalchemy import insert

from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.leads.field_events import Batch
from storefront.leads.models import FieldEvent, Lead
from storefront.leads.services import refresh_from_events
from storefront.visits.models import Visit


def store_batch(cart: Cart, batch: Batch) -> int:
    """Store ``batch`` for ``cart``'s company, visit and lead; returns how many were stored.

    Nothing is stored (0) when the visit opted out of capture. The lead, when there is one,
    gets the events' last active field, activity time and fresh scores and value. Commits.
    """
    visit = db.session.get(Visit, cart.visit_id) if cart.visit_id else None
    if visit is not None and visit.company_id != cart.company_id:
        visit = None  # never file events under another merchant's visit
    if visit is not None and visit.capture_opt_out:
        return 0
    lead = db.session.execute(
        db.select(Lead).filter_by(company_id=cart.company_id, cart_id=cart.id, erased_at=None)
        .order_by(Lead.id.desc()).limit(1)
    ).scalar_one_or_none()
    rows = [{**event, "company_id": cart.company_id, "visit_id": visit.id if visit else None,
             "cart_id": cart.id, "lead_id": lead.id if lead else None} for event in batch.events]
    db.session.execute(insert(FieldEvent), rows)
    if lead is not None:
        refresh_from_events(lead, cart, visit, batch.events)
    db.session.commit()
    return len(rows)
