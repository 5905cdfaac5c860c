"""The billing engine on PostgreSQL, Redis and localstripe: a renewal charged off-session
makes one Order; a declining card is retried on schedule, then a new card saved through a
SetupIntent pays the open invoice at once; ticks repeated make nothing twice."""
from __future__ import annotations

from datetime import timedelta

import pytest
from billing_kit import DECLINING_CARD, intents_for, make_plan, save_card, subscribe

from storefront.billing import engine
from storefront.billing.models import Invoice, PaymentAttempt
from storefront.billing.services import replace_card
from storefront.catalog.models import Variant
from storefront.checkout.models import Order


def _attempts(db, invoice_id):
    return db.session.execute(db.select(PaymentAttempt).filter_by(invoice_id=invoice_id)
                              .order_by(PaymentAttempt.number)).scalars().all()


def test_a_due_renewal_is_charged_off_session_once_and_makes_one_order(app, db, company, smtp, queue, run_jobs):
    plan = make_plan(company)
    sub = subscribe(company, plan, quantity=2, billing_country="US")
    due = sub.next_billing_at
    assert engine.bill_due_subscriptions(now=due - timedelta(minutes=1)) == 0

    assert engine.bill_due_subscriptions(now=due + timedelta(minutes=1)) == 1
    assert engine.bill_due_subscriptions(now=due + timedelta(minutes=6)) == 0  # the period moved on
    run_jobs()

    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    assert (invoice.status, invoice.amount_cents, invoice.period_start) == ("PAID", 3600, due)
    [attempt] = _attempts(db, invoice.id)
    assert (attempt.status, attempt.idempotency_key) == ("SUCCEEDED", f"invoice-{invoice.id}-attempt-1")
    [intent] = intents_for(f"invoice-{invoice.id}-", sub.stripe_customer_id)
    assert (intent["id"], intent["amount"], intent["status"]) == (attempt.payment_intent_id, 3600, "succeeded")
    assert intent["customer"] == sub.stripe_customer_id and intent["payment_method"] == sub.payment_method_id

    order = db.session.execute(db.select(Order)).scalar_one()
    assert (order.origin_key, order.cart_id, order.source_type, order.total_cents, order.status) == (
        f"invoice-{invoice.id}", None, "SUBSCRIPTION", 3600, "PAID")
    assert [(line.quantity, line.unit_price_cents) for line in order.lines] == [(2, 1800)]
    assert invoice.order_id == order.id
    assert db.session.get(Variant, plan.variant_id).stock == 48
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["sam@example.com"]
    db.session.refresh(sub)
    assert sub.status == "ACTIVE" and sub.current_period_start == due and sub.next_billing_at > due

    # The job run again, and the webhook's copy of the same intent, change nothing.
    assert engine.charge_attempt(attempt.id) == "nothing to do"
    assert engine.settle_intent(intent) == "already"
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1


def test_a_declining_card_is_retried_as_scheduled_then_a_new_card_pays_at_once(app, db, company, smtp, queue, run_jobs):
    plan = make_plan(company, retry_strategy="FIXED", fixed_schedule_days=[1, 3], max_retries=2,
                     timezone="America/Chicago")
    sub = subscribe(company, plan, card=DECLINING_CARD)
    due = sub.next_billing_at
    engine.bill_due_subscriptions(now=due)
    run_jobs()

    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    first, second = _attempts(db, invoice.id)
    assert (first.status, first.decline_code, first.decline_class) == ("FAILED", "card_declined", "SOFT")
    assert invoice.status == "OPEN" and invoice.first_failed_at == due
    assert second.status == "SCHEDULED" and second.kind == "RETRY"
    local = second.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago"))
    assert (local.date() - due.astimezone(local.tzinfo).date()).days == 1 and local.hour == 9
    assert "day 1 after the first failure" in second.reason and "card_declined" in second.reason
    db.session.refresh(sub)
    assert sub.status == "PAST_DUE"

    assert engine.run_due_retries(now=second.scheduled_at - timedelta(minutes=1)) == 0
    assert engine.run_due_retries(now=second.scheduled_at) == 1
    run_jobs()
    attempts = _attempts(db, invoice.id)
    assert [a.status for a in attempts] == ["FAILED", "FAILED", "SCHEDULED"]
    assert "day 3 after the first failure" in attempts[2].reason

    # The customer saves a good card: the open invoice is charged at once, the schedule dropped.
    new_method = save_card(sub.stripe_customer_id)
    replace_card(sub.id, new_method)
    run_jobs()
    attempts = _attempts(db, invoice.id)
    assert [(a.kind, a.status) for a in attempts] == [
        ("RENEWAL", "FAILED"), ("RETRY", "FAILED"), ("RETRY", "SKIPPED"), ("CARD_UPDATE", "SUCCEEDED")]
    db.session.refresh(invoice)
    db.session.refresh(sub)
    assert invoice.status == "PAID" and sub.status == "ACTIVE"
    assert len(intents_for(f"invoice-{invoice.id}-", sub.stripe_customer_id)) == 3  # two declines and the payment
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1


def test_when_retries_run_out_the_plan_action_applies(app, db, company, queue, run_jobs):
    plan = make_plan(company, retry_strategy="FIXED", fixed_schedule_days=[1], max_retries=1,
                     after_max_retries_action="PAUSE")
    sub = subscribe(company, plan, card=DECLINING_CARD)
    engine.bill_due_subscriptions(now=sub.next_billing_at)
    run_jobs()
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    retry = _attempts(db, invoice.id)[1]
    engine.run_due_retries(now=retry.scheduled_at)
    run_jobs()
    db.session.refresh(invoice)
    db.session.refresh(sub)
    assert [a.status for a in _attempts(db, invoice.id)] == ["FAILED", "FAILED"]
    assert (invoice.status, sub.status, sub.next_billing_at) == ("UNCOLLECTIBLE", "PAUSED", None)


@pytest.mark.parametrize(("days", "expected", "because"), [
    (30, (8, 14, 10), "15th = detected payday (5 of 5 past payments within 2 days)"),  # 15 Aug is a Saturday
    (14, (7, 24, 10), "Friday = best weekday (customer's, 3 of 5 past payments)"),  # the payday is too late
])
def test_mi_optimized_retries_on_what_the_customers_orders_teach(app, db, company, queue, run_jobs, days, expected, because):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    plan = make_plan(company, timezone="America/Chicago", max_days_to_retry=days)
    sub = subscribe(company, plan, card=DECLINING_CARD, billing_country="US",
                    now=datetime(2026, 6, 20, 15, tzinfo=UTC))
    # Past orders at this merchant: the 15th (or the Friday before), 15:05 UTC (10:05 in Chicago from March).
    for number, (month, day) in enumerate([(1, 15), (2, 13), (3, 13), (4, 15), (5, 15)], start=1):
        db.session.add(Order(company_id=company.id, number=f"P{number}", token=f"past-{number}", currency="USD",
                             subtotal_cents=1800, total_cents=1800, amount_paid_cents=1800, customer_id=sub.customer_id,
                             created_at=datetime(2026, month, day, 15, 5, tzinfo=UTC)))
    db.session.commit()
    engine.bill_due_subscriptions(now=sub.next_billing_at)  # Monday 20 July
    run_jobs()
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    retry = _attempts(db, invoice.id)[1]
    local = retry.scheduled_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.month, local.day, local.hour) == expected
    assert retry.strategy == "MI_OPTIMIZED" and because in retry.reason
    assert "10:00 America/Chicago = best hour (customer's, 3 of 5 past payments)" in retry.reason
