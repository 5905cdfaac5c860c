"""Subscriptions: starting one on a saved card, saving and replacing the card.

A card is saved for off-session charges through a SetupIntent (``usage=off_session``) on a
Stripe Customer, then attached to that Customer: the path that runs with localstripe and
works with real keys too (``payments.gateway`` also keeps the real-Stripe
``setup_future_usage`` parameters for saving while paying).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from storefront.billing.engine import attempt_key, queue_charge
from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan
from storefront.billing.plans import add_interval
from storefront.billing.queries import attempts_of
from storefront.checkout.models import Customer
from storefront.extensions import db
from storefront.payments import saved_cards
from storefront.types import utcnow


class BillingError(ValueError):
    """A subscription request that cannot be done; ``str(error)`` is safe to show."""


def stripe_customer_for(customer: Customer) -> str:
    """The Stripe Customer of a shopper: the one an earlier subscription of theirs uses,
    else a new one (idempotency key per Customer row). Raises gateway.PaymentError."""
    known = db.session.execute(
        select(Subscription.stripe_customer_id)
        .where(Subscription.customer_id == customer.id, Subscription.stripe_customer_id.is_not(None))
        .limit(1)
    ).scalar_one_or_none()
    return known or saved_cards.create_customer(customer.email, company_id=customer.company_id,
                                            idempotency_key=f"customer-{customer.id}")


def start_subscription(
    plan: SubscriptionPlan,
    customer: Customer,
    *,
    stripe_customer_id: str,
    payment_method_id: str,
    quantity: int = 1,
    billing_country: str | None = None,
    phone: str | None = None,
    shipping_address: dict | None = None,
    first_order_id: int | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Start a subscription on a saved card. Commits; returns it.

    With trial days it is TRIALING and first billed when the trial ends; otherwise the
    first period was paid at checkout (``first_order_id``), it is ACTIVE and billed again
    at the period's end. Raises BillingError for an archived plan, another merchant's
    customer, or a quantity outside 1..100.
    """
    now = now or utcnow()
    if plan.status != "ACTIVE":
        raise BillingError("This plan is no longer sold.")
    if customer.company_id != plan.company_id:
        raise BillingError("Unknown customer.")
    if not 1 <= quantity <= 100:
        raise BillingError("Choose a quantity from 1 to 100.")
    if plan.trial_days:
        start, end, status = now, now + timedelta(days=plan.trial_days), "TRIALING"
    else:
        start, end, status = now, add_interval(now, plan.interval, plan.interval_count), "ACTIVE"
    sub = Subscription(
        company_id=plan.company_id, customer_id=customer.id, plan_id=plan.id, quantity=quantity, status=status,
        current_period_start=start, current_period_end=end, next_billing_at=end,
        stripe_customer_id=stripe_customer_id, payment_method_id=payment_method_id,
        billing_country=(billing_country or "").upper() or None, phone=phone,
        shipping_address=dict(shipping_address or {}), first_order_id=first_order_id,
    )
    db.session.add(sub)
    db.session.commit()
    return sub


def begin_card_setup(stripe_customer_id: str, subscription_id: int | None = None):
    """A SetupIntent (``usage=off_session``) for the browser to confirm with a card; returns
    Stripe's SetupIntent (its ``client_secret`` goes to Stripe.js). Raises gateway.PaymentError."""
    metadata = {"subscription_id": str(subscription_id)} if subscription_id else {}
    return saved_cards.create_setup_intent(stripe_customer_id, metadata)


def finish_card_setup(setup_intent_id: str, stripe_customer_id: str) -> str:
    """The PaymentMethod of a SetupIntent Stripe says succeeded for this Customer, attached
    to it; returns its id. Raises BillingError when the SetupIntent is not this Customer's
    or not succeeded, gateway.PaymentError when Stripe fails."""
    setup = saved_cards.retrieve_setup_intent(setup_intent_id).to_dict()
    if setup.get("customer") != stripe_customer_id:
        raise BillingError("That card setup belongs to someone else.")
    if setup.get("status") != "succeeded" or not setup.get("payment_method"):
        raise BillingError("The card was not confirmed. Please try again.")
    method = setup["payment_method"]
    method_id = method if isinstance(method, str) else method["id"]
    saved_cards.attach_payment_method(method_id, stripe_customer_id)
    return method_id


def replace_card(subscription_id: int, payment_method_id: str, now: datetime | None = None) -> int | None:
    """Use a new saved card for a subscription, and retry its open invoice at once.

    Returns the id of the CARD_UPDATE attempt queued for the open invoice, or None when
    nothing was owed. A second call while that attempt is pending queues nothing new.
    Commits.
    """
    clock, now = now, now or utcnow()
    sub = db.session.execute(select(Subscription).where(Subscription.id == subscription_id).with_for_update().execution_options(populate_existing=True)).scalar_one()
    sub.payment_method_id = payment_method_id
    invoice = db.session.execute(
        select(Invoice).where(Invoice.subscription_id == sub.id, Invoice.status == "OPEN")
        .order_by(Invoice.period_start).limit(1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if invoice is None:
        db.session.commit()
        return None
    attempts = attempts_of(invoice.id)
    pending = [a for a in attempts if a.status in ("CLAIMED", "CHARGING")]
    if any(a.kind == "CARD_UPDATE" for a in pending):
        db.session.commit()
        return None
    for other in attempts:
        if other.status == "SCHEDULED":
            other.status, other.outcome, other.finished_at = "SKIPPED", "card_updated", now
    number = max((a.number for a in attempts), default=0) + 1
    attempt = PaymentAttempt(company_id=invoice.company_id, invoice_id=invoice.id, number=number,
                             idempotency_key=attempt_key(invoice.id, number), kind="CARD_UPDATE",
                             strategy=None, status="CLAIMED", scheduled_at=now,
                             reason="the customer saved a new card: the open invoice is retried at once")
    db.session.add(attempt)
    db.session.commit()
    attempt_id = attempt.id
    queue_charge(attempt_id, clock)
    return attempt_id
