"""Builders for billing tests: a plan on a real product, a customer whose card is saved in
localstripe through a SetupIntent (the test-mode path), and reads of localstripe's intents."""
from __future__ import annotations

from datetime import UTC, datetime

from factories import make_product

from storefront.billing.models import SubscriptionPlan
from storefront.billing.services import (
    begin_card_setup,
    finish_card_setup,
    start_subscription,
    stripe_customer_for,
)
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.payments import gateway, saved_cards

GOOD_CARD = "4242424242424242"
DECLINING_CARD = "4000000000000341"  # attaches, then every charge is declined
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def make_plan(company, product=None, **fields) -> SubscriptionPlan:
    """A monthly plan renewing the product's first variant at 1800 cents."""
    product = product or make_product(company, "House Coffee", price_cents=2000, stock=50)
    values = {"company_id": company.id, "product_id": product.id, "variant_id": product.variants[0].id,
              "name": "Coffee every month", "price_cents": 1800, "currency": "USD", **fields}
    plan = SubscriptionPlan(**values)
    db.session.add(plan)
    db.session.commit()
    return plan


def save_card(stripe_customer_id: str, number: str = GOOD_CARD) -> str:
    """Save a card on the Stripe Customer as the browser would: a SetupIntent
    (usage=off_session) confirmed with a PaymentMethod, then attached. Returns the pm id."""
    method = gateway.client().v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    setup = begin_card_setup(stripe_customer_id)
    saved_cards.confirm_setup_intent(setup.id, method.id)
    return finish_card_setup(setup.id, stripe_customer_id)


def subscribe(company, plan, email="sam@example.com", card=GOOD_CARD, now=T0, **fields):
    """A customer with a saved card and a subscription started at ``now``."""
    customer = Customer(company_id=company.id, email=email, first_name="Sam", last_name="Lee")
    db.session.add(customer)
    db.session.commit()
    stripe_customer = stripe_customer_for(customer)
    method = save_card(stripe_customer, card)
    return start_subscription(plan, customer, stripe_customer_id=stripe_customer, payment_method_id=method,
                              now=now, **fields)


def intents_for(key_prefix: str, customer: str) -> list[dict]:
    """Every PaymentIntent localstripe holds for the Stripe Customer whose
    metadata.attempt_key starts with the prefix."""
    found = []
    for intent in gateway.client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
        data = intent.to_dict()
        if data.get("customer") == customer and (data.get("metadata") or {}).get("attempt_key", "").startswith(key_prefix):
            found.append(data)
    return found
