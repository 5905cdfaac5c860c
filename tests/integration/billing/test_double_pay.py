"""An invoice paid twice is refunded once, on PostgreSQL, Redis and localstripe: a job's
charge pays the invoice, the webhook of another attempt's intent arrives after it; the
later payment is refunded in full, once, whether the refund job runs twice, two run at
once, or one died after the refund."""
from __future__ import annotations

import threading
from datetime import timedelta

from billing_kit import make_plan, subscribe

from storefront.billing import double_pay, engine
from storefront.billing.models import Invoice, PaymentAttempt
from storefront.checkout.models import Order
from storefront.extensions import db as _db
from storefront.payments import gateway, saved_cards


def _paid_twice(db, company, run_jobs):
    """The invoice paid by attempt 1's job, and attempt 2's intent (charged while the
    invoice was still open) settled afterwards by its webhook. Returns (invoice, attempt 2)."""
    plan = make_plan(company)
    sub = subscribe(company, plan)
    run_jobs()
    assert engine.bill_due_subscriptions(now=sub.next_billing_at + timedelta(minutes=1)) == 1
    invoice = db.session.execute(db.select(Invoice).filter_by(status="OPEN")).scalar_one()
    second = PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=2, kind="CARD_UPDATE",
                            idempotency_key=engine.attempt_key(invoice.id, 2), status="CHARGING",
                            scheduled_at=invoice.created_at, reason="the customer saved a new card")
    db.session.add(second)
    db.session.commit()
    charge = saved_cards.charge_off_session(
        customer_id=sub.stripe_customer_id, payment_method_id=sub.payment_method_id, amount_cents=invoice.amount_cents,
        currency=invoice.currency, idempotency_key=second.idempotency_key,
        metadata={"invoice_id": str(invoice.id)})
    assert charge.status == "succeeded"
    run_jobs()  # attempt 1's job charges and pays the invoice first (its refund job is not queued)
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "PAID"
    intent = gateway.retrieve_payment_intent(charge.intent_id).to_dict()
    assert engine.settle_intent(intent) == "paid"  # the webhook of attempt 2's intent
    db.session.expire_all()
    return db.session.get(Invoice, invoice.id), db.session.get(PaymentAttempt, second.id)


def test_the_later_payment_is_refunded_once_and_the_invoice_stays_paid_once(app, db, company, smtp, queue,
                                                                            run_jobs):
    invoice, second = _paid_twice(db, company, run_jobs)
    assert second.outcome == "paid_twice"
    assert db.session.execute(db.select(db.func.count(Order.id)).where(Order.origin_key.is_not(None))).scalar() == 1
    run_jobs()  # the queued refund
    db.session.expire_all()
    second = db.session.get(PaymentAttempt, second.id)
    [refund] = gateway.refunds_of(second.payment_intent_id)
    assert second.outcome == "refunded" and refund in second.failure_message
    first = db.session.execute(db.select(PaymentAttempt).filter_by(invoice_id=invoice.id, number=1)).scalar_one()
    assert gateway.refunds_of(first.payment_intent_id) == []
    assert gateway.client().v1.refunds.retrieve(refund).amount == invoice.amount_cents
    # Run again, or the webhook replayed: nothing more.
    assert double_pay.refund_double_payment(second.id) == "nothing to do"
    assert engine.settle_intent(gateway.retrieve_payment_intent(second.payment_intent_id).to_dict()) == "already"
    assert len(gateway.refunds_of(second.payment_intent_id)) == 1


def test_a_job_killed_after_the_refund_and_two_jobs_at_once_refund_once(app, db, company, smtp, queue, run_jobs,
                                                                        monkeypatch):
    _invoice, second = _paid_twice(db, company, run_jobs)
    attempt_id = second.id
    # Killed between Stripe's refund and the commit: the refund exists, the row says paid_twice.
    real_commit = _db.session.commit
    monkeypatch.setattr(_db.session, "commit", lambda: (_ for _ in ()).throw(RuntimeError("killed")))
    try:
        double_pay.refund_double_payment(attempt_id)
    except RuntimeError:
        pass
    monkeypatch.setattr(_db.session, "commit", real_commit)
    _db.session.rollback()
    assert _db.session.get(PaymentAttempt, attempt_id).outcome == "paid_twice"

    results, barrier = [], threading.Barrier(3)

    def job():
        with app.app_context():
            barrier.wait()
            results.append(double_pay.refund_double_payment(attempt_id))
            _db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("already") == 1 and set(results) <= {"already", "busy", "nothing to do"}
    assert len(gateway.refunds_of(_db.session.get(PaymentAttempt, attempt_id).payment_intent_id)) == 1
    _db.session.expire_all()
    assert _db.session.get(PaymentAttempt, attempt_id).outcome == "refunded"
