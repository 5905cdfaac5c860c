"""Selling a subscription at checkout: the order of a cart with a subscribe-and-save line
starts its Subscription (ARCHITECTURE §6, "Saved cards and off-session charges").

``start_subscriptions`` is checkout's ``order_completed`` hook (``billing.hooks.install``):
it runs inside ``checkout.orders.complete_order``, the one path to an order (Pay, the
shopper's return, the webhook), after the order's rows are written and before its commit,
under the cart's row lock. So the subscription is made exactly when the order is, once;
the order's unique ``cart_id`` backs that up, and a second call for the same order finds
the subscription and adds nothing.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from storefront.billing.models import Invoice, Subscription, SubscriptionPlan
from storefront.billing.plans import add_interval
from storefront.extensions import db
from storefront.types import utcnow

log = logging.getLogger(__name__)


def start_subscriptions(order, cart) -> list[Subscription]:
    """Start the subscription of each subscribe-and-save line of ``cart`` paid by ``order``
    (flushed, not committed: the caller commits with the order). Returns the new ones.

    Each is ACTIVE on the card the shopper agreed to keep (``order.payment_method_id`` on
    ``order.stripe_customer_id``), for ``line.quantity`` of the plan; its first period
    [now, now + interval) is the order's: an Invoice PAID by the order's PaymentIntent, with
    the order as its order. The engine bills the next period at ``next_billing_at`` (the
    period's end), off-session. A plan's trial days do not apply: the shopper paid the first
    period at checkout. Nothing starts for an order without a kept card, a customer, or one
    refunded because its stock ran out (REFUND_PENDING); a plan no longer ACTIVE or of
    another merchant is skipped (its line was priced one-time).
    """
    if not order.payment_method_id or not order.stripe_customer_id:
        # No card kept, so nothing to renew on (and no look at the lines: the common case
        # costs no statement). Pay keeps the card of every cart with a subscription line.
        return []
    plan_ids = {line.plan_id for line in cart.lines if line.plan_id}
    if not plan_ids or order.status == "REFUND_PENDING":
        return []
    if order.customer_id is None:
        log.warning("order %s has subscription lines but no customer: none started", order.id)
        return []
    plans = {plan.id: plan for plan in db.session.execute(
        select(SubscriptionPlan).where(SubscriptionPlan.id.in_(plan_ids), SubscriptionPlan.company_id == order.company_id,
                                       SubscriptionPlan.status == "ACTIVE")).scalars()}
    started = set(db.session.execute(
        select(Subscription.plan_id).where(Subscription.first_order_id == order.id)).scalars())
    now = order.created_at or utcnow()
    address = dict(order.shipping_address or {})
    made = []
    for line in cart.lines:
        plan = plans.get(line.plan_id)
        if plan is None or plan.id in started:
            continue
        started.add(plan.id)
        end = add_interval(now, plan.interval, plan.interval_count)
        sub = Subscription(
            company_id=order.company_id, customer_id=order.customer_id, plan_id=plan.id, quantity=line.quantity,
            status="ACTIVE", current_period_start=now, current_period_end=end, next_billing_at=end,
            stripe_customer_id=order.stripe_customer_id, payment_method_id=order.payment_method_id,
            billing_country=(address.get("country") or "").upper()[:2] or None, phone=order.phone,
            shipping_address=address, first_order_id=order.id,
        )
        db.session.add(sub)
        db.session.flush()
        db.session.add(Invoice(
            company_id=order.company_id, subscription_id=sub.id, period_start=now, period_end=end,
            amount_cents=plan.price_cents * line.quantity, currency=order.currency, status="PAID", paid_at=now,
            payment_intent_id=order.payment_intent_id,
            # One order pays one first period: the cart holds one subscription line at most.
            order_id=order.id if len(made) == 0 else None,
        ))
        made.append(sub)
    db.session.flush()
    return made
