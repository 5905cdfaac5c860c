"""RQ jobs of the payments domain. Jobs take ids and are idempotent."""
from __future__ import annotations

from storefront.checkout.models import Order
from storefront.checkout.orders import mark_refunded
from storefront.extensions import db
from storefront.payments import gateway


def refund_sold_out_order(order_id: int) -> str | None:
    """Refund an order whose stock ran out after payment (status REFUND_PENDING).

    Returns the refund id, or None when there is nothing to refund. The Stripe call carries
    an idempotency key per order; raises PaymentError so RQ retries.
    """
    order = db.session.get(Order, order_id)
    if order is None or order.status != "REFUND_PENDING" or not order.payment_intent_id:
        return None
    refund_id = gateway.refund_payment(order.payment_intent_id, order.amount_paid_cents, order.id)
    mark_refunded(order.id, refund_id)
    return refund_id
