"""The payment history the retry schedule learns from: a customer's successful charges
and orders at this merchant, and the merchant's aggregate (indexed reads, newest first).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, union_all

from storefront.billing.models import Invoice, PaymentAttempt, Subscription
from storefront.billing.payday import best_hour, best_weekday, detect_payday
from storefront.billing.schedule import Learned
from storefront.checkout.models import Order
from storefront.extensions import db

CUSTOMER_LIMIT = 200
MERCHANT_LIMIT = 5000


def _payment_times(company_id: int, customer_id: int | None, limit: int) -> list[datetime]:
    charges = (
        select(PaymentAttempt.finished_at.label("at"))
        .join(Invoice, Invoice.id == PaymentAttempt.invoice_id)
        .join(Subscription, Subscription.id == Invoice.subscription_id)
        .where(PaymentAttempt.company_id == company_id, PaymentAttempt.status == "SUCCEEDED",
               PaymentAttempt.finished_at.is_not(None))
    )
    # Renewal orders are the charges above again: count the shopper's own orders only.
    orders = select(Order.created_at.label("at")).where(Order.company_id == company_id,
                                                        Order.origin_key.is_(None))
    if customer_id is not None:
        charges = charges.where(Subscription.customer_id == customer_id)
        orders = orders.where(Order.customer_id == customer_id)
    both = union_all(charges, orders).subquery()
    return list(db.session.execute(select(both.c.at).order_by(both.c.at.desc()).limit(limit)).scalars())


def learn(times: list[datetime], zone_name: str, holidays, source: str) -> Learned:
    """Payday, best hour and best weekday of payments at ``times`` (UTC), read in ``zone_name``."""
    zone = ZoneInfo(zone_name)
    local = [moment.astimezone(zone) for moment in times]
    return Learned(
        payday=detect_payday([moment.date() for moment in local], holidays), payday_source=source,
        hour=best_hour(local, source), weekday=best_weekday(local, source),
    )


def learned_for(sub: Subscription, zone_name: str, holidays) -> tuple[Learned, Learned]:
    """(the customer's, the merchant's) learned facts for a subscription's retries."""
    mine = learn(_payment_times(sub.company_id, sub.customer_id, CUSTOMER_LIMIT), zone_name, holidays, "customer")
    theirs = learn(_payment_times(sub.company_id, None, MERCHANT_LIMIT), zone_name, holidays, "merchant")
    return mine, theirs
