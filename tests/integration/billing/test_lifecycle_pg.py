"""The customer's subscription changes on PostgreSQL: concurrent pause and cancel, double
skips and double answers to a save offer apply once (row locks, ARCHITECTURE §3); the
SAVE_FLOW after-max-retries action records a save offer the customer can take."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from billing_kit import make_plan
from portal_kit import make_customer, make_subscription

from storefront.billing import lifecycle, save_flow
from storefront.billing.engine import apply_final_action
from storefront.billing.models import Invoice, SaveOffer, Subscription
from storefront.types import utcnow

ROUNDS = 8


@pytest.fixture()
def postgres(is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")


def _at_once(app, *calls):
    """Run each call in its own thread and app context (its own session), released together;
    returns their results in order, and raises the first error."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        with app.app_context():
            try:
                barrier.wait()
                results[index] = call()
            except Exception as error:  # collected and raised below
                errors.append(error)

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _fresh(db, sub_id) -> Subscription:
    db.session.expire_all()
    return db.session.get(Subscription, sub_id)


def test_a_pause_and_a_cancel_at_once_always_end_cancelled(app, db, company, postgres):
    plan = make_plan(company)
    for n in range(ROUNDS):
        customer = make_customer(company, f"c{n}@example.com")
        sub = make_subscription(company, customer, plan=plan)
        ids = (sub.id, company.id, customer.id)
        paused, cancelled = _at_once(app, lambda ids=ids: lifecycle.pause(*ids), lambda ids=ids: lifecycle.cancel(*ids, "too_much"))
        final = _fresh(db, sub.id)
        assert cancelled.changed
        assert final.status == "CANCELED" and final.next_billing_at is None and final.canceled_at is not None
        if not paused.changed:
            assert "cancelled" in paused.message


def test_two_skips_of_the_same_charge_move_it_once(app, db, company, postgres):
    plan = make_plan(company)
    for n in range(ROUNDS):
        customer = make_customer(company, f"s{n}@example.com")
        sub = make_subscription(company, customer, plan=plan)
        seen, ids, end = sub.next_billing_at.date(), (sub.id, company.id, customer.id), sub.current_period_end
        results = _at_once(app, lambda ids=ids, seen=seen: lifecycle.skip_next(*ids, seen), lambda ids=ids, seen=seen: lifecycle.skip_next(*ids, seen))
        assert sorted(change.changed for change in results) == [False, True]
        moved = _fresh(db, sub.id).next_billing_at
        assert 27 <= (moved - end).days <= 31


def test_two_answers_to_one_save_offer_apply_one(app, db, company, postgres):
    plan = make_plan(company)
    for n in range(ROUNDS):
        customer = make_customer(company, f"o{n}@example.com")
        sub = make_subscription(company, customer, plan=plan)
        ids, before = (sub.id, company.id, customer.id), sub.next_billing_at
        offers = _at_once(app, lambda ids=ids: save_flow.offer_on_cancel(*ids) and True,
                          lambda ids=ids: save_flow.offer_on_cancel(*ids) and True)
        assert sorted(bool(o) for o in offers) == [False, True]  # a cancel meets one offer
        offer = db.session.execute(db.select(SaveOffer).filter_by(subscription_id=sub.id)).scalar_one()
        results = _at_once(app, lambda ids=ids, offer=offer: save_flow.accept(offer.id, *ids, "PAUSE"),
                           lambda ids=ids, offer=offer: save_flow.accept(offer.id, *ids, "SKIP"))
        assert sorted(change.changed for change in results) == [False, True]
        db.session.expire_all()
        answered = db.session.get(SaveOffer, offer.id)
        final = _fresh(db, sub.id)
        assert answered.status == "ACCEPTED"
        if answered.choice == "PAUSE":
            assert final.status == "PAUSED" and final.next_billing_at is None
        else:
            assert final.status == "ACTIVE" and final.next_billing_at > before


def test_the_save_flow_action_offers_a_skip_that_brings_the_subscription_back(app, db, company, postgres):
    plan = make_plan(company, after_max_retries_action="SAVE_FLOW")
    customer = make_customer(company)
    sub = make_subscription(company, customer, plan=plan, status="PAST_DUE")
    now = utcnow()
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=sub.current_period_start,
                      period_end=sub.current_period_end, amount_cents=1800, currency="USD",
                      first_failed_at=now - timedelta(days=14), dunning_deadline=now)
    db.session.add(invoice)
    db.session.commit()
    assert apply_final_action(invoice, sub, now) == "SAVE_FLOW"
    apply_final_action(invoice, sub, now)  # applied twice (a retried tick): one offer
    db.session.commit()
    offer = db.session.execute(db.select(SaveOffer)).scalar_one()
    assert (offer.trigger, offer.invoice_id, offer.status) == ("DUNNING", invoice.id, "OFFERED")
    assert _fresh(db, sub.id).status == "PAST_DUE" and db.session.get(Invoice, invoice.id).status == "UNCOLLECTIBLE"
    assert save_flow.open_offer(_fresh(db, sub.id)).id == offer.id
    change = save_flow.accept(offer.id, sub.id, company.id, customer.id, "SKIP")
    final = _fresh(db, sub.id)
    assert change.changed and final.status == "ACTIVE" and final.next_billing_at == final.current_period_end


def test_a_plan_with_billing_date_optimization_offers_the_customers_payday_first(app, db, company):
    from datetime import datetime

    from storefront.checkout.models import Order

    plan = make_plan(company, allow_mi_billing_date_optimization=True)
    customer = make_customer(company)
    sub = make_subscription(company, customer, plan=plan)
    now = datetime(2026, 6, 3, 12, 0, tzinfo=sub.next_billing_at.tzinfo)
    for n, month in enumerate((1, 2, 3, 4, 5)):  # every order on the 15th (a weekday or moved back)
        paid = datetime(2026, month, 15, 10, 0, tzinfo=now.tzinfo)
        db.session.add(Order(company_id=company.id, number=f"P{n}", token=f"p{n}" * 20, customer_id=customer.id,
                             email=customer.email, currency="USD", subtotal_cents=100, total_cents=100,
                             amount_paid_cents=100, created_at=paid))
    db.session.commit()
    choices = lifecycle.date_choices(sub, now)
    first_day, first_label = choices[0]
    assert first_day.isoformat() == "2026-06-15" and "your payday: 15th = detected payday (5 of 5" in first_label
    assert len({day for day, _ in choices}) == len(choices) == lifecycle.DATE_CHOICES_DAYS
    plan.allow_mi_billing_date_optimization = False
    db.session.commit()
    assert lifecycle.date_choices(sub, now)[0][0].isoformat() == "2026-06-04"  # off: tomorrow first


def test_the_save_flow_final_notice_links_to_the_portal_and_names_the_offer(app, db, company, smtp):
    from portal_kit import body_of

    from storefront.billing.dunning import send_notice
    from storefront.billing.models import PaymentAttempt

    plan = make_plan(company, after_max_retries_action="SAVE_FLOW")
    sub = make_subscription(company, make_customer(company), plan=plan, status="PAST_DUE")
    now = utcnow()
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=sub.current_period_start,
                      period_end=sub.current_period_end, amount_cents=1800, currency="USD", status="UNCOLLECTIBLE",
                      first_failed_at=now - timedelta(days=14), dunning_deadline=now)
    db.session.add(invoice)
    db.session.flush()
    attempt = PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=5, idempotency_key="k-5",
                             kind="RETRY", status="FAILED", scheduled_at=now, decline_class="SOFT")
    db.session.add(attempt)
    db.session.commit()
    assert send_notice(attempt.id, "final_failed") == "final_notice"
    text = body_of(smtp[-1])
    assert f"{app.config['PUBLIC_URL']}/account/{company.slug}/sign-in" in text
    assert "discount on your next delivery, skip it or pause" in text.replace("\n", " ")
