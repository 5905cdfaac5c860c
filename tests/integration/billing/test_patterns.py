"""Pattern analysis, nightly: a waiting MI_OPTIMIZED retry moves to the payday learned from
payments that arrived after it was planned, says why, and stays put on the next night."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing_kit import make_plan
from portal_kit import make_customer, make_subscription

from storefront.billing.models import Invoice, PaymentAttempt
from storefront.billing.patterns import REPLANNED, replan_retries
from storefront.checkout.models import Order

FAILED_AT = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)  # a Friday


def _waiting_retry(db, company, customer, plan):
    sub = make_subscription(company, customer, plan=plan, status="PAST_DUE")
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=FAILED_AT, period_end=FAILED_AT,
                      amount_cents=1800, currency="USD", first_failed_at=FAILED_AT,
                      dunning_deadline=FAILED_AT + timedelta(days=14))
    db.session.add(invoice)
    db.session.flush()
    db.session.add(PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=1, idempotency_key="i-1",
                                  kind="RENEWAL", status="FAILED", scheduled_at=FAILED_AT, finished_at=FAILED_AT,
                                  decline_code="insufficient_funds", decline_class="SOFT"))
    retry = PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=2, idempotency_key="i-2",
                           kind="RETRY", strategy="MI_OPTIMIZED", status="SCHEDULED",
                           scheduled_at=datetime(2026, 6, 8, 9, 0, tzinfo=UTC), reason="no history yet")
    db.session.add(retry)
    db.session.commit()
    return retry


def test_a_waiting_retry_moves_to_the_payday_learned_since(app, db, company):
    plan = make_plan(company, retry_window_start=9, retry_window_end=18, timezone="UTC")
    customer = make_customer(company)
    retry = _waiting_retry(db, company, customer, plan)
    night = datetime(2026, 6, 6, 2, 0, tzinfo=UTC)
    replan_retries(now=night)  # the hand-set time becomes the engine's own answer with no history
    db.session.expire_all()
    fallback = db.session.get(PaymentAttempt, retry.id).scheduled_at
    assert fallback.date().isoformat() != "2026-06-15"
    assert replan_retries(now=night) == 0  # nothing new learned: the same answer, nothing moves
    for n, month in enumerate((1, 2, 3, 4, 5)):  # orders since: every one on the 15th
        db.session.add(Order(company_id=company.id, number=f"P{n}", token=f"q{n}" * 20, customer_id=customer.id,
                             email=customer.email, currency="USD", subtotal_cents=100, total_cents=100,
                             amount_paid_cents=100, created_at=datetime(2026, month, 15, 11, 0, tzinfo=UTC)))
    db.session.commit()
    assert replan_retries(now=night) == 1
    db.session.expire_all()
    moved = db.session.get(PaymentAttempt, retry.id)
    assert moved.scheduled_at.date().isoformat() == "2026-06-15"
    assert "15th = detected payday" in moved.reason and moved.reason.endswith(REPLANNED)
    assert replan_retries(now=night + timedelta(days=1)) == 0  # the next night: nothing moves


def test_a_retry_about_to_run_or_of_another_strategy_is_left_alone(app, db, company):
    plan = make_plan(company, retry_window_start=9, retry_window_end=18, timezone="UTC")
    customer = make_customer(company)
    retry = _waiting_retry(db, company, customer, plan)
    for n, month in enumerate((1, 2, 3, 4, 5)):
        db.session.add(Order(company_id=company.id, number=f"R{n}", token=f"r{n}" * 20, customer_id=customer.id,
                             email=customer.email, currency="USD", subtotal_cents=100, total_cents=100,
                             amount_paid_cents=100, created_at=datetime(2026, month, 15, 11, 0, tzinfo=UTC)))
    db.session.commit()
    assert replan_retries(now=retry.scheduled_at - timedelta(minutes=30)) == 0  # inside the lead
    retry.strategy = "FIXED"
    db.session.commit()
    assert replan_retries(now=datetime(2026, 6, 6, 2, 0, tzinfo=UTC)) == 0
