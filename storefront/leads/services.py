"""Lead capture from checkout fields (progressive capture).

The first valid email or phone creates the Lead; later fields update it. A lead is unique
per (company, email): a phone-only lead that later gets an email merges into the lead that
already has that email.
"""
from __future__ import annotations

from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.landing.models import Visit
from storefront.leads.models import Lead

ADDRESS_FIELDS = ("address1", "address2", "city", "postcode", "country")


def _find_lead(cart: Cart, email: str | None, phone: str | None) -> Lead | None:
    by_cart = db.session.execute(
        db.select(Lead).filter_by(company_id=cart.company_id, cart_id=cart.id)
    ).scalars().first()
    by_email = None
    if email:
        by_email = db.session.execute(
            db.select(Lead).filter_by(company_id=cart.company_id, email=email)
        ).scalar_one_or_none()
    if by_cart is not None and by_email is not None and by_cart.id != by_email.id:
        if by_cart.email is None:
            # The phone-only lead of this cart is the same shopper as the email lead.
            by_email.phone = by_email.phone or by_cart.phone
            db.session.delete(by_cart)
            db.session.flush()
            return by_email
        return by_email
    if by_cart is not None or by_email is not None:
        return by_cart or by_email
    if phone:
        return db.session.execute(
            db.select(Lead).filter_by(company_id=cart.company_id, phone=phone, email=None)
        ).scalars().first()
    return None


def capture_lead(
    cart: Cart, visit: Visit | None, last_field: str | None, form_fields: tuple[str, ...]
) -> Lead | None:
    """Create or update the cart's Lead from ``cart.checkout_fields`` (valid values only).

    Returns None while there is neither a valid email nor a valid phone. Sets captured
    fields, last active field, completion % (whole percent of the form's fields) and capture
    stage CHECKOUT. ``form_fields`` names every field of the form, in order. Does not commit: the caller's service owns the transaction.
    """
    fields = cart.checkout_fields or {}
    email, phone = fields.get("email"), fields.get("phone")
    if not email and not phone:
        return None
    lead = _find_lead(cart, email, phone)
    if lead is None:
        lead = Lead(company_id=cart.company_id, source="CHECKOUT_ABANDON", status="NEW")
        db.session.add(lead)
    if email and lead.email != email:
        lead.email = email
    if phone:
        lead.phone = phone
    lead.first_name = fields.get("first_name") or lead.first_name
    lead.last_name = fields.get("last_name") or lead.last_name
    lead.address = {k: fields[k] for k in ADDRESS_FIELDS if fields.get(k)}
    lead.cart_id = cart.id
    lead.landing_page_id = cart.landing_page_id or lead.landing_page_id
    if visit is not None:
        lead.visit_id = visit.id
        lead.source_detail = visit.utm_source or visit.referrer or lead.source_detail
    captured = [name for name in form_fields if fields.get(name)]
    lead.captured_fields = captured
    lead.completion_pct = len(captured) * 100 // len(form_fields)
    lead.capture_stage = "CHECKOUT"
    if last_field:
        lead.last_active_field = last_field
    return lead


def convert_lead(company_id: int, cart_id: int, email: str | None, customer_id: int | None,
                 value_cents: int) -> Lead | None:
    """Mark the lead of this cart (or email) CONVERTED with its actual value in cents.

    Only the system sets CONVERTED. Idempotent. Does not commit.
    """
    lead = db.session.execute(
        db.select(Lead).filter_by(company_id=company_id, cart_id=cart_id)
    ).scalars().first()
    if lead is None and email:
        lead = db.session.execute(
            db.select(Lead).filter_by(company_id=company_id, email=email)
        ).scalar_one_or_none()
    if lead is None:
        return None
    lead.status = "CONVERTED"
    lead.actual_value_cents = value_cents
    lead.customer_id = customer_id
    return lead
