"""An invoice paid twice is refunded once.

Two charges can pay one invoice: a job's charge and the webhook of another attempt's
intent (a card update retried the invoice while a retry was charging), or two attempts whose
jobs both passed the "still open?" check. ``engine.settle`` keeps the first payment, marks
the later attempt SUCCEEDED with the outcome "paid_twice", and queues ``refund_double_payment``.

The refund is made once: the job holds the attempt's row lock (taken with SKIP LOCKED, so a
second job at the same time does nothing) while it asks Stripe for the intent's refunds and
refunds only when there is none (localstripe ignores idempotency keys; a job killed after
the refund and before its commit finds the refund the next time). The Stripe key is
``refund-<attempt key>``. The attempt's outcome becomes "refunded", its ``failure_message``
names the refund.
"""
from __future__ import annotations

import logging

from rq import Retry
from sqlalchemy import select

from storefront.billing.models import Invoice, PaymentAttempt
from storefront.extensions import db
from storefront.payments import gateway
from storefront.queue import enqueue

log = logging.getLogger(__name__)

PAID_TWICE = "paid_twice"
REFUNDED = "refunded"


def queue_refund(attempt_id: int) -> None:
    """Queue the refund of an attempt that paid an invoice already paid (after the commit
    that recorded it); retried on transient faults."""
    enqueue(refund_double_payment, attempt_id, retry=Retry(max=5, interval=[10, 60, 300, 900, 3600]))


def refund_double_payment(attempt_id: int) -> str:
    """Refund the whole charge of an attempt marked "paid_twice", once. Returns "refunded",
    "already" (Stripe had refunded it: recorded now), "busy" (another job holds it) or
    "nothing to do". Raises gateway.PaymentError when Stripe cannot be reached (the job is
    retried; nothing is recorded)."""
    attempt = db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if attempt is None:
        db.session.rollback()
        return "busy"
    if attempt.outcome != PAID_TWICE or not attempt.payment_intent_id:
        db.session.rollback()
        return "nothing to do"
    invoice = db.session.get(Invoice, attempt.invoice_id)
    try:
        found = gateway.refunds_of(attempt.payment_intent_id)
        refund_id = found[0] if found else gateway.refund_intent(
            attempt.payment_intent_id, invoice.amount_cents, f"refund-{attempt.idempotency_key}")
    except gateway.PaymentError:
        db.session.rollback()
        raise
    attempt.outcome = REFUNDED
    attempt.failure_message = f"paid twice: refunded in full ({refund_id})"
    db.session.commit()
    log.warning("invoice %s was paid twice: attempt %s refunded (%s)", invoice.id, attempt.id, refund_id)
    return "already" if found else "refunded"
