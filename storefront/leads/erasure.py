"""Erasing a lead (the right to be forgotten): its personal data goes, the anonymous row
stays for analytics.

Removed: email, phone, first and last name, address, the source detail (a referrer URL can
carry personal data), notes, the personal parts of the cart snapshot and of activity
payloads, field events' error messages, and the links to the customer and the cart (the
cart's typed checkout fields are cleared too, unless an order was placed from it: the
order keeps its own copy for the merchant's books).
Kept: status, source, landing page, visit (for campaign counts), captured field names,
completion %, scores, values, timestamps, and the abandonment analysis' counts.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, delete, or_, update

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.types import utcnow

log = logging.getLogger(__name__)

ERASE_ROLES = frozenset({"owner"})
# Payload strings kept after erasure: enum-like facts, not what a shopper typed.
SAFE_STRING_KEYS = frozenset({
    "field", "field_name", "field_group", "from", "to", "status", "stage", "section", "reason",
    "source", "currency", "type", "event", "step", "method", "by", "why", "rule",
    "fields", "code", "decline_code",
})
# Cart snapshot keys that describe the products, never the person.
SAFE_SNAPSHOT_KEYS = frozenset({
    "lines", "value_cents", "currency", "item_count", "subtotal_cents", "total_cents",
    "product_id", "variant_id", "title", "product_title", "variant_title", "sku", "quantity",
    "unit_price_cents", "price_cents", "line_total_cents", "image", "image_url", "options",
    "variant", "version", "checkout_started",
})


# Upper domains (recovery) register ``func(lead, email, phone)`` here at start-up: called with
# the contacts the lead had, before the erasure's commit, to erase what they keep of them.
erased: list = []


class EraseError(PermissionError):
    """The user may not erase leads (only an owner may)."""


def can_erase(user: User) -> bool:
    """Only owners erase: it cannot be undone, and it answers a shopper's legal request."""
    return getattr(user, "role", None) in ERASE_ROLES


def _scrub(value, personal: list[str], safe_keys: frozenset[str], key: str | None = None):
    """``value`` with every string dropped unless its key is in ``safe_keys`` and it holds
    none of the ``personal`` strings; numbers and booleans stay."""
    if isinstance(value, dict):
        cleaned = {}
        for k, v in value.items():
            kept = _scrub(v, personal, safe_keys, str(k))
            if kept is not None:
                cleaned[k] = kept
        return cleaned
    if isinstance(value, list):
        return [kept for item in value if (kept := _scrub(item, personal, safe_keys, key)) is not None]
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str) and key in safe_keys:
        lowered = value.lower()
        if not any(p and p in lowered for p in personal):
            return value
    return None


def _personal_strings(lead: Lead) -> list[str]:
    """The lead's own identifiers, lower-cased, to catch copies of them anywhere."""
    values = [lead.email, lead.phone, lead.first_name, lead.last_name]
    values += [v for v in (lead.address or {}).values() if isinstance(v, str)]
    digits = "".join(ch for ch in (lead.phone or "") if ch.isdigit())
    if len(digits) >= 6:
        values.append(digits[-7:])  # the local part of the number, written any way
    return [v.strip().lower() for v in values if isinstance(v, str) and len(v.strip()) >= 2]


def erase_lead(lead: Lead, user: User) -> bool:
    """Erase ``lead``'s personal data (see the module docstring). Commits.

    Returns False when it was already erased (nothing to do). Raises EraseError unless
    ``user`` is an owner of the lead's merchant.
    """
    if not can_erase(user) or user.company_id != lead.company_id:
        raise EraseError("Only an owner can erase a lead.")
    if lead.erased_at is not None:
        return False
    personal = _personal_strings(lead)
    cart_id = lead.cart_id
    contacts = (lead.email, lead.phone)
    lead.email = lead.phone = lead.first_name = lead.last_name = lead.source_detail = None
    lead.address = {}
    lead.cart_snapshot = _scrub(lead.cart_snapshot or {}, personal, SAFE_SNAPSHOT_KEYS)
    lead.customer_id = None
    lead.cart_id = None
    lead.erased_at = utcnow()

    db.session.execute(delete(LeadNote).where(LeadNote.lead_id == lead.id,
                                              LeadNote.company_id == lead.company_id))
    for activity in db.session.scalars(db.select(LeadActivity).where(
            LeadActivity.lead_id == lead.id, LeadActivity.company_id == lead.company_id)):
        activity.payload = _scrub(activity.payload or {}, personal, SAFE_STRING_KEYS)
    mine = FieldEvent.lead_id == lead.id
    if lead.visit_id:
        mine = or_(mine, and_(FieldEvent.visit_id == lead.visit_id, FieldEvent.lead_id.is_(None)))
    db.session.execute(update(FieldEvent).where(mine, FieldEvent.company_id == lead.company_id)
                       .values(error_message=None).execution_options(synchronize_session=False))
    for analysis in db.session.scalars(db.select(AbandonmentAnalysis).where(
            AbandonmentAnalysis.lead_id == lead.id, AbandonmentAnalysis.company_id == lead.company_id)):
        # Keep the counts per field; any message text goes.
        analysis.validation_errors = _scrub(analysis.validation_errors or {}, personal, frozenset())
    if cart_id is not None:
        _forget_cart_fields(lead.company_id, cart_id)
    for func in erased:
        func(lead, *contacts)
    db.session.commit()
    log.info("lead %s erased by user %s", lead.id, user.id)
    return True


def _forget_cart_fields(company_id: int, cart_id: int) -> None:
    # What the shopper typed at checkout lives on the cart too; an ordered cart's order keeps
    # its own copy (the merchant's books), so only an abandoned cart is cleared.
    from storefront.cart.models import Cart
    from storefront.checkout.models import Order

    ordered = db.session.scalar(db.select(Order.id).where(Order.cart_id == cart_id).limit(1))
    if ordered is None:
        db.session.execute(update(Cart).where(Cart.id == cart_id, Cart.company_id == company_id)
                           .values(checkout_fields={}).execution_options(synchronize_session=False))
