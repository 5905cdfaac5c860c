"""The Stripe webhook settles invoice PaymentIntents through billing's hook: a signed
``payment_intent.succeeded`` for a renewal whose job died after the charge pays the invoice
once, and the job's retry afterwards changes nothing; ``payment_failed`` for a declined
renewal is applied once too. The event body is the real envelope; Stripe's copy decides."""
from __future__ import annotations

from billing_kit import DECLINING_CARD, intents_for, make_plan, subscribe
from test_webhooks import intent_event, send

from storefront.billing import engine
from storefront.billing.models import Invoice, PaymentAttempt
from storefront.checkout.models import Order
from storefront.payments import saved_cards


def _charge_without_recording(db, sub):
    """What a job that died right after its charge leaves: the attempt CHARGING, the intent made."""
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    attempt = db.session.execute(db.select(PaymentAttempt)).scalar_one()
    db.session.execute(db.update(PaymentAttempt).where(PaymentAttempt.id == attempt.id).values(status="CHARGING"))
    db.session.commit()
    saved_cards.charge_off_session(customer_id=sub.stripe_customer_id, payment_method_id=sub.payment_method_id,
                               amount_cents=1800, currency="USD", idempotency_key=attempt.idempotency_key,
                               metadata={"invoice_id": str(attempt.invoice_id)})
    [intent] = intents_for(attempt.idempotency_key, sub.stripe_customer_id)
    return attempt, intent


def test_the_succeeded_webhook_pays_the_invoice_once(client, db, company, queue, smtp, run_jobs):
    sub = subscribe(company, make_plan(company))
    attempt, intent = _charge_without_recording(db, sub)
    assert send(client, intent_event(intent["id"], "evt_renewal_1")).status_code == 200
    assert send(client, intent_event(intent["id"], "evt_renewal_2")).status_code == 200  # a new id, same payment
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Invoice, attempt.invoice_id).status == "PAID"
    assert db.session.get(PaymentAttempt, attempt.id).status == "SUCCEEDED"
    assert engine.charge_attempt(attempt.id) == "nothing to do"
    assert len(intents_for("invoice-", sub.stripe_customer_id)) == 1
    assert len(db.session.execute(db.select(Order)).scalars().all()) == 1
    assert len(smtp) == 1  # the renewal's order confirmation


def test_the_failed_webhook_records_the_decline_once(client, db, company, queue, run_jobs):
    sub = subscribe(company, make_plan(company), card=DECLINING_CARD)
    attempt, intent = _charge_without_recording(db, sub)
    event = intent_event(intent["id"], "evt_renewal_failed", "event.payment_intent.payment_failed.json")
    assert send(client, event).status_code == 200
    db.session.expire_all()
    attempts = db.session.execute(db.select(PaymentAttempt).order_by(PaymentAttempt.number)).scalars().all()
    assert [(a.status, a.decline_code) for a in attempts] == [("FAILED", "card_declined"), ("SCHEDULED", None)]
    assert engine.charge_attempt(attempt.id) == "nothing to do"
