"""Stripe webhook handling (ARCHITECTURE §6): verify the raw body, record the event id
once, re-fetch the object from Stripe and trust only Stripe's copy, then apply an
idempotent transition chosen from a dispatch table (Saleor's stripe/webhooks.py works the
same way).

What each answer means to Stripe:

- 200 ``processed``, ``ignored`` (not ours, not a payment, nothing to do) or
  ``duplicate`` (already recorded): Stripe stops delivering it.
- 400 WebhookError: a bad signature, or a well-signed but unusable event (malformed body,
  an object Stripe does not know, a copy of the wrong shape, or a payment event that
  Stripe's copy contradicts). It is logged with the event id and the reason, and the
  event is not left recorded, so a later delivery of it is examined afresh.
- 5xx: only our own faults (Stripe unreachable: gateway.PaymentError; the database down),
  so Stripe retries them.

Payment events: ``payment_intent.succeeded`` makes the order only when Stripe's copy of
the intent says ``succeeded`` (else 400: the event claims a payment Stripe denies).
``checkout.session.completed`` makes it only when Stripe's copy says ``paid``; an unpaid
completed session is normal for delayed payment methods, so it is ``ignored`` and the
order waits for ``checkout.session.async_payment_succeeded``, which must find the session
paid (else 400).
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from storefront.checkout.orders import record_payment_failure
from storefront.extensions import db
from storefront.payments import gateway, hooks
from storefront.payments.models import StripeEvent
from storefront.payments.payloads import (
    EventRef,
    UnusableEvent,
    parse_json,
    read_event,
    read_intent,
    read_session,
    stripe_id,
)
from storefront.payments.services import complete_payment

log = logging.getLogger(__name__)

# A well-signed but unusable event, or a bad signature: answered 400.
WebhookError = UnusableEvent
DECLINED = "Your card was declined."


def _stripe_copy(retrieve, object_id: str) -> dict:
    """Stripe's copy of the object as a plain dict; UnknownObject becomes UnusableEvent,
    other gateway.PaymentError (Stripe unreachable) propagates."""
    try:
        return retrieve(object_id).to_dict()
    except gateway.UnknownObject as error:
        raise UnusableEvent(f"Stripe has no {object_id}") from error


def _complete(cart_id: int, company_id: int | None, **payment) -> str:
    try:
        complete_payment(cart_id, company_id=company_id, **payment)
    except LookupError:
        # Not a cart of this installation (another app on the same Stripe account).
        log.warning("paid event for unknown cart %s (or another merchant's): ignored", cart_id)
        return "ignored"
    return "processed"


def on_payment_intent_succeeded(event: EventRef) -> str:
    """Create the order for the intent's cart (metadata.cart_id of Stripe's copy), once."""
    intent_id = stripe_id(event.object_id, "data.object.id", "pi_")
    copy = _stripe_copy(gateway.retrieve_payment_intent, intent_id)
    intent = read_intent(copy, intent_id)
    if intent.status != "succeeded":
        raise UnusableEvent(f"Stripe says {intent_id} is {intent.status}, not succeeded")
    if intent.cart_id is None and (answer := hooks.first_answer(hooks.intent_settled, copy)):
        return "processed" if answer != "ignored" else answer
    if intent.cart_id is None:
        log.info("payment_intent %s carries no cart_id: not ours", intent_id)
        return "ignored"
    return _complete(
        intent.cart_id, intent.company_id, amount_paid_cents=intent.amount_cents,
        currency=intent.currency, payment_intent_id=intent_id, email=intent.email,
        kept_card=gateway.kept_card(copy),
    )


def on_payment_intent_failed(event: EventRef) -> str:
    """Keep the cart and store Stripe's decline reason for the shopper, while Stripe's copy
    still waits for a payment method (a late failure after success changes nothing)."""
    intent_id = stripe_id(event.object_id, "data.object.id", "pi_")
    copy = _stripe_copy(gateway.retrieve_payment_intent, intent_id)
    intent = read_intent(copy, intent_id)
    if (intent.cart_id is None and intent.status == "requires_payment_method"
            and (answer := hooks.first_answer(hooks.intent_settled, copy))):
        return "processed" if answer != "ignored" else answer
    if intent.cart_id is None or intent.status not in ("requires_payment_method", "canceled"):
        return "ignored"
    record_payment_failure(intent.cart_id, intent.error_message or DECLINED, intent.error_code,
                           intent.decline_code)
    return "processed"


def on_checkout_session_paid(event: EventRef) -> str:
    """Hosted Checkout: Stripe's copy of a paid payment-mode session with ``cart_id`` in its
    metadata (or client_reference_id) makes the order, once."""
    session_id = stripe_id(event.object_id, "data.object.id", "cs_")
    session = read_session(_stripe_copy(gateway.retrieve_checkout_session, session_id), session_id)
    if session.mode != "payment":
        return "ignored"
    if session.payment_status != "paid":
        if event.type == "checkout.session.completed":
            log.info("checkout session %s completed unpaid (%s): waiting for the payment",
                     session_id, session.payment_status)
            return "ignored"
        raise UnusableEvent(f"Stripe says {session_id} is {session.payment_status}, not paid")
    if session.cart_id is None:
        log.info("checkout session %s carries no cart_id: not ours", session_id)
        return "ignored"
    if session.amount_cents is None or session.currency is None:
        raise UnusableEvent(f"Stripe's copy of {session_id} has no amount_total or currency")
    return _complete(
        session.cart_id, session.company_id, amount_paid_cents=session.amount_cents,
        currency=session.currency, checkout_session_id=session_id,
        payment_intent_id=session.payment_intent_id, email=session.email,
    )


HANDLERS = {
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_intent_failed,
    "checkout.session.completed": on_checkout_session_paid,
    "checkout.session.async_payment_succeeded": on_checkout_session_paid,
}


def handle_event(event: EventRef) -> str:
    """Apply a verified event once. Returns "duplicate", "ignored" or "processed".

    The StripeEvent row is committed first, so a concurrent delivery of the same event is
    answered as a duplicate at once. When the handler fails (UnusableEvent, Stripe
    unreachable, the database) the row is deleted again, so a later delivery runs in full
    against Stripe's copy as it is then. Raises what the handler raised.
    """
    if db.session.get(StripeEvent, event.id) is not None:
        return "duplicate"
    db.session.add(StripeEvent(id=event.id, type=event.type))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return "duplicate"
    handler = HANDLERS.get(event.type)
    if handler is None:
        return "ignored"
    try:
        return handler(event)
    except Exception:
        db.session.rollback()
        db.session.execute(db.delete(StripeEvent).where(StripeEvent.id == event.id))
        db.session.commit()
        raise


def receive(payload: bytes, signature: str | None) -> str:
    """The webhook from its raw body and ``Stripe-Signature`` header to its outcome
    ("processed", "ignored" or "duplicate").

    Raises WebhookError (answer 400) for a bad signature or an unusable event, logging the
    latter as a warning with the event id and the reason; gateway.PaymentError when Stripe
    cannot be reached (answer 5xx, so Stripe retries).
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        log.warning("Stripe event (no id) refused (400): the body is not UTF-8")
        raise WebhookError("the body is not UTF-8") from error
    try:
        gateway.verify_signature(text, signature)
    except gateway.SignatureError as error:
        # Not from Stripe: no event to speak of, so no warning per attempt.
        log.info("Stripe webhook with a bad signature refused: %s", error)
        raise WebhookError("invalid signature") from error
    event_id = None
    try:
        event = read_event(parse_json(text))
        event_id = event.id
        return handle_event(event)
    except UnusableEvent as error:
        log.warning("Stripe event %s refused (400): %s", error.event_id or event_id or "(no id)", error)
        raise
