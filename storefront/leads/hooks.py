"""Leads' part in checkout: registered in ``checkout.hooks`` by the app factory."""
from __future__ import annotations

from sqlalchemy import select

from storefront.checkout import hooks
from storefront.checkout.fields import FIELD_NAMES
from storefront.extensions import db
from storefront.leads.models import Lead
from storefront.leads.services import capture_lead, convert_lead, record_payment_failed


def _fields_saved(cart, visit, last_field) -> None:
    capture_lead(cart, visit, last_field, FIELD_NAMES)


def _order_completed(order, cart) -> None:
    lead = convert_lead(cart.company_id, cart.id, order.email, order.customer_id, order.amount_paid_cents)
    if lead is not None:
        order.lead_id = lead.id


def _payment_failed(cart_id, code, decline_code, message) -> None:
    record_payment_failed(cart_id, code, decline_code, message)


def _carts_of_email(company_id: int, email: str) -> list[int]:
    # A lead remembers the cart its email was typed on, even when that cart's own
    # checkout fields were edited later.
    return list(db.session.execute(select(Lead.cart_id).where(
        Lead.company_id == company_id, Lead.email == email, Lead.cart_id.is_not(None))).scalars())


def install() -> None:
    """Register leads' reactions to checkout (idempotent)."""
    hooks.register(hooks.fields_saved, _fields_saved)
    hooks.register(hooks.order_completed, _order_completed)
    hooks.register(hooks.payment_failed, _payment_failed)
    hooks.register(hooks.carts_of_email, _carts_of_email)
