"""Builders shared by the recovery tests: an abandoned cart with a captured email (and
phone), moved through the lifecycle and delivery ticks with an injected clock."""
from __future__ import annotations

import email
from datetime import datetime, timedelta
from email import policy

from factories import make_product

from storefront.cart.lifecycle import abandon_idle_carts
from storefront.cart.models import Cart, LineItem
from storefront.extensions import db
from storefront.leads.models import Lead
from storefront.recovery import delivery, services
from storefront.recovery.models import CartIntervention, CartSaveAttempt
from storefront.types import new_token, utcnow

EMAIL = "jane.doe@example.test"


def abandoned_cart(company, *, fields=None, price_cents=2000, quantity=2, stock=10, left: datetime | None = None,
                   lead: bool = False):
    """A cart of ``quantity`` tees left by its shopper at ``left`` (default 30 minutes ago),
    marked ABANDONED by the lifecycle job, with its attempt started (with a NEW Lead of the
    cart when ``lead``). Returns (cart, attempt, left)."""
    left = left or utcnow() - timedelta(minutes=30)
    variant = make_product(company, "Classic Tee", price_cents=price_cents, stock=stock,
                           handle="tee-" + new_token()[:8]).variants[0]
    cart = Cart(token=new_token(), company_id=company.id, currency=company.currency, status="ACTIVE",
                checkout_fields=fields if fields is not None else {"email": EMAIL}, created_at=left, updated_at=left)
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=variant.id, quantity=quantity, unit_price_cents=price_cents))
    if lead:
        db.session.add(Lead(company_id=company.id, cart_id=cart.id, email=cart.checkout_fields.get("email"),
                            phone=cart.checkout_fields.get("phone"), status="NEW", abandonment_reason="PRICE_SHOCK",
                            abandonment_risk=0.82))
    db.session.commit()
    now = left + timedelta(minutes=21)
    assert abandon_idle_carts(now) >= 1
    services.lifecycle(now)
    attempt = db.session.execute(db.select(CartSaveAttempt).filter_by(cart_id=cart.id)).scalar_one()
    return cart, attempt, left


def run_tick(run_jobs, now: datetime) -> list[int]:
    """One delivery tick at ``now``, then the worker runs what it enqueued."""
    ids = delivery.claim_due(now)
    run_jobs()
    db.session.rollback()
    return ids


def interventions(attempt) -> dict[str, CartIntervention]:
    db.session.expire_all()
    rows = db.session.execute(db.select(CartIntervention).filter_by(attempt_id=attempt.id)).scalars()
    return {row.stage: row for row in rows}


def parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=policy.default)
