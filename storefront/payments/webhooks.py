"""Stripe webhook handling: verify, record the event id once, then apply an idempotent
transition chosen from a dispatch table (Saleor's stripe/webhooks.py works the same way)."""
from __future__ import annotations

import logging

from rq import Retry
from sqlalchemy.exc import IntegrityError

from storefront.checkout.services import complete_order, record_payment_failure
from storefront.checkout.tasks import send_order_confirmation
from storefront.extensions import db
from storefront.payments.models import StripeEvent
from storefront.payments.tasks import refund_sold_out_order
from storefront.queue import enqueue

log = logging.getLogger(__name__)


class WebhookError(ValueError):
    """The event is well-signed but unusable (e.g. no cart_id); answered with 400."""


def _int_or_none(raw) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _cart_id(obj: dict) -> int | None:
    metadata = obj.get("metadata") or {}
    return _int_or_none(metadata.get("cart_id") or obj.get("client_reference_id"))


def _complete(cart_id: int, obj: dict, **payment) -> None:
    company_id = _int_or_none((obj.get("metadata") or {}).get("company_id"))
    try:
        order, created = complete_order(cart_id, company_id=company_id, **payment)
    except LookupError:
        # Not a cart of this installation (another app on the same Stripe account).
        log.warning("paid event for unknown cart %s (or another merchant's): ignored", cart_id)
        return
    if created:
        after_order(order)


def on_payment_intent_succeeded(obj: dict) -> None:
    """Create the order for the intent's cart (metadata.cart_id), once."""
    cart_id = _cart_id(obj)
    if cart_id is None:
        log.info("payment_intent %s carries no cart_id: not ours", obj.get("id"))
        return
    _complete(
        cart_id, obj, amount_paid_cents=int(obj.get("amount_received") or obj["amount"]),
        currency=obj["currency"], payment_intent_id=obj["id"], email=obj.get("receipt_email"),
    )


def on_payment_intent_failed(obj: dict) -> None:
    """Keep the cart and store the decline reason for the shopper."""
    cart_id = _cart_id(obj)
    if cart_id is not None:
        error = obj.get("last_payment_error") or {}
        record_payment_failure(cart_id, error.get("message") or "Your card was declined.",
                               error.get("code"), error.get("decline_code"))


def on_checkout_session_completed(obj: dict) -> None:
    """Hosted Checkout: a paid session with ``cart_id`` in its metadata makes the order."""
    if obj.get("mode") != "payment" or obj.get("payment_status") != "paid":
        return
    cart_id = _cart_id(obj)
    if cart_id is None:
        raise WebhookError("checkout.session.completed without metadata.cart_id")
    details = obj.get("customer_details") or {}
    _complete(
        cart_id, obj, amount_paid_cents=int(obj["amount_total"]), currency=obj["currency"],
        checkout_session_id=obj["id"], payment_intent_id=obj.get("payment_intent"),
        email=details.get("email") or obj.get("customer_email"),
    )


HANDLERS = {
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "checkout.session.completed": on_checkout_session_completed,
}


def after_order(order) -> None:
    """Queue what follows a new order: the confirmation email, or the refund of an order
    whose stock ran out while the shopper paid. Both retried on transient faults."""
    if order.status == "REFUND_PENDING":
        enqueue(refund_sold_out_order, order.id, retry=Retry(max=5, interval=[10, 60, 300, 900, 3600]))
    else:
        enqueue(send_order_confirmation, order.id, retry=Retry(max=3, interval=[10, 60, 300]))


def handle_event(event: dict) -> str:
    """Apply a verified event once. Returns "duplicate", "ignored" or "processed".

    The StripeEvent row is committed first, so a concurrent delivery of the same event is
    answered as a duplicate at once; when the handler fails the row is deleted again, so
    Stripe's retry runs it. Raises WebhookError for a malformed event.
    """
    if not isinstance(event, dict):
        raise WebhookError("not a Stripe event")
    event_id, event_type = event.get("id"), event.get("type")
    obj = (event.get("data") or {}).get("object")
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
        raise WebhookError("not a Stripe event")
    if db.session.get(StripeEvent, event_id) is not None:
        return "duplicate"
    db.session.add(StripeEvent(id=event_id, type=event_type))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored"
    try:
        handler(obj)
    except Exception:
        db.session.rollback()
        # Forget the event so Stripe's retry is processed, not answered as a duplicate.
        db.session.execute(db.delete(StripeEvent).where(StripeEvent.id == event_id))
        db.session.commit()
        raise
    return "processed"
