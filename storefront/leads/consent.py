"""Capture consent at checkout: "Don't save my details".

Opting out sets ``visit.capture_opt_out`` for the cart's visit, and from then on that visit
gets no lead (``services.capture_lead`` returns None) and no field events
(``event_store.store_batch`` stores nothing). What was already captured for the visit is
deleted at once:

- the visit's and the cart's field events, and an abandonment analysis of the visit;
- a lead *created* by this visit's capture (its EMAIL_CAPTURED or PHONE_CAPTURED activity
  says ``created`` in this visit), with its activities, notes, field events and analysis;
- a lead the merchant already had from before (the shopper typed a known email) is not
  deleted: it is only detached from this cart and visit (cart snapshot and value cleared).
  The admin's "erase lead" removes such a lead's personal data when the shopper asks.

The cart keeps ``checkout_fields``: they are what the order is shipped to, so checkout and
payment work as before. A cart without a visit gets a bare visit (no landing page, no UTM)
to hold the choice.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, or_, update

from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.types import new_token, utcnow
from storefront.visits.models import Visit

log = logging.getLogger(__name__)
CAPTURE_TYPES = ("EMAIL_CAPTURED", "PHONE_CAPTURED")


def visit_of(cart: Cart | None) -> Visit | None:
    """The cart's visit, when it is the same merchant's."""
    if cart is None or cart.visit_id is None:
        return None
    visit = db.session.get(Visit, cart.visit_id)
    return visit if visit is not None and visit.company_id == cart.company_id else None


def is_opted_out(cart: Cart | None) -> bool:
    """True when the cart's visit chose "Don't save my details"."""
    visit = visit_of(cart)
    return bool(visit and visit.capture_opt_out)


def _created_in(lead: Lead, visit_id: int) -> bool:
    payloads = db.session.execute(
        db.select(LeadActivity.payload).where(LeadActivity.lead_id == lead.id,
                                              LeadActivity.type.in_(CAPTURE_TYPES))
    ).scalars()
    return any(p.get("created") and p.get("visit_id") == visit_id for p in payloads)


def delete_lead(lead: Lead) -> None:
    """Delete ``lead`` and every row about it (explicitly: SQLite does not enforce the
    foreign keys' ON DELETE). Orders keep existing, without the link. Does not commit."""
    for model in (LeadActivity, LeadNote, AbandonmentAnalysis, FieldEvent):
        db.session.execute(delete(model).where(model.lead_id == lead.id))
    db.session.execute(update(Order).where(Order.lead_id == lead.id).values(lead_id=None))
    db.session.delete(lead)


def opt_out(cart: Cart) -> dict[str, int]:
    """Stop capture for ``cart``'s visit and delete what it captured (see the module doc).

    Returns counts: {"leads_deleted", "leads_detached", "events_deleted"}. Idempotent (a
    second call deletes nothing more). Commits.
    """
    visit = visit_of(cart)
    if visit is None:
        now = utcnow()
        visit = Visit(token=new_token(), company_id=cart.company_id, landing_page_id=cart.landing_page_id,
                      visitor_id=new_token(), started_at=now, last_activity_at=now)
        db.session.add(visit)
        db.session.flush()
        cart.visit_id = visit.id
    visit.capture_opt_out = True
    counts = {"leads_deleted": 0, "leads_detached": 0}
    leads = db.session.execute(
        db.select(Lead).where(Lead.company_id == cart.company_id,
                              or_(Lead.cart_id == cart.id, Lead.visit_id == visit.id))
        .order_by(Lead.id)
    ).scalars().all()
    for lead in leads:
        has_order = db.session.execute(db.select(Order.id).filter_by(lead_id=lead.id)).first() is not None
        if _created_in(lead, visit.id) and not has_order:
            delete_lead(lead)
            counts["leads_deleted"] += 1
            continue
        if lead.cart_id == cart.id:
            lead.cart_id, lead.cart_snapshot, lead.cart_value_cents = None, {}, 0
        if lead.visit_id == visit.id:
            lead.visit_id = None
        counts["leads_detached"] += 1
    counts["events_deleted"] = db.session.execute(delete(FieldEvent).where(
        FieldEvent.company_id == cart.company_id,
        or_(FieldEvent.visit_id == visit.id, FieldEvent.cart_id == cart.id))).rowcount or 0
    db.session.execute(delete(AbandonmentAnalysis).where(AbandonmentAnalysis.visit_id == visit.id))
    db.session.commit()
    log.info("visit %s opted out of capture: %s", visit.id, counts)
    return counts
