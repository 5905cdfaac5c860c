"""Billing's tables: plans refuse settings the engine cannot use, one invoice per period,
and orders without a cart (renewals) unique by their origin while cart orders keep theirs."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import make_product
from sqlalchemy.exc import IntegrityError

from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan
from storefront.billing.plans import PlanError
from storefront.cart.models import Cart
from storefront.checkout.models import Customer, Order

T0 = datetime(2026, 1, 15, 10, tzinfo=UTC)


def _plan(company, product, **fields):
    values = {"company_id": company.id, "product_id": product.id, "variant_id": product.variants[0].id,
              "name": "Monthly coffee", "price_cents": 1800, "currency": "usd", **fields}
    return SubscriptionPlan(**values)


def _order(company, number, **fields):
    return Order(company_id=company.id, number=number, token=f"tok-{number}", currency="USD",
                 subtotal_cents=100, total_cents=100, amount_paid_cents=100, **fields)


@pytest.mark.parametrize(("field", "value"), [
    ("interval_count", -1), ("interval_count", 0), ("interval", "HOURLY"), ("max_days_to_retry", 61),
    ("retry_strategy", "RANDOM"), ("after_max_retries_action", "DELETE"), ("timezone", "Mars/Olympus"),
    ("fixed_schedule_days", [3, 1]), ("fixed_schedule_days", []), ("max_retries", 0), ("price_cents", 0),
    ("retry_window_start", 24), ("currency", "dollars"),
])
def test_a_plan_refuses_each_unusable_setting_by_field(db, company, field, value):
    product = make_product(company, "Coffee")
    with pytest.raises(PlanError) as error:
        _plan(company, product, **{field: value})
    assert error.value.field == field


def test_an_empty_retry_window_is_refused_either_way_round(db, company):
    product = make_product(company, "Coffee")
    with pytest.raises(PlanError, match="empty"):
        _plan(company, product, retry_window_start=14, retry_window_end=9)
    plan = _plan(company, product, retry_window_start=9, retry_window_end=17)
    with pytest.raises(PlanError, match="empty"):
        plan.retry_window_start = 17
    with pytest.raises(PlanError, match="past"):
        _plan(company, product, max_days_to_retry=7, fixed_schedule_days=[1, 3, 10])


def test_a_valid_plan_is_stored_with_the_seed_defaults(db, company):
    product = make_product(company, "Coffee")
    plan = _plan(company, product)
    db.session.add(plan)
    db.session.commit()
    assert (plan.currency, plan.retry_strategy, plan.fixed_schedule_days, plan.max_retries,
            plan.max_days_to_retry, plan.after_max_retries_action) == ("USD", "MI_OPTIMIZED", [1, 3, 5, 7], 4, 14, "CANCEL")


def test_one_invoice_per_subscription_and_period_and_one_attempt_per_key(db, company):
    product = make_product(company, "Coffee")
    plan = _plan(company, product)
    customer = Customer(company_id=company.id, email="a@example.com")
    db.session.add_all([plan, customer])
    db.session.flush()
    sub = Subscription(company_id=company.id, customer_id=customer.id, plan_id=plan.id,
                       current_period_start=T0, current_period_end=T0, next_billing_at=T0)
    db.session.add(sub)
    db.session.flush()
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=T0, period_end=T0,
                      amount_cents=1800, currency="USD")
    db.session.add(invoice)
    db.session.commit()
    db.session.add(Invoice(company_id=company.id, subscription_id=sub.id, period_start=T0, period_end=T0,
                           amount_cents=1800, currency="USD"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    key = f"invoice-{invoice.id}-attempt-1"
    db.session.add(PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=1,
                                  idempotency_key=key, scheduled_at=T0))
    db.session.commit()
    db.session.add(PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=2,
                                  idempotency_key=key, scheduled_at=T0))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_orders_without_a_cart_are_unique_by_origin_and_cart_orders_by_cart(db, company):
    db.session.add_all([_order(company, "1", origin_key="invoice-1"), _order(company, "2", origin_key="invoice-2")])
    db.session.commit()
    db.session.add(_order(company, "3", origin_key="invoice-1"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    cart = Cart(token="c" * 43, company_id=company.id, currency="USD")
    db.session.add(cart)
    db.session.flush()
    db.session.add(_order(company, "4", cart_id=cart.id))
    db.session.commit()
    db.session.add(_order(company, "5", cart_id=cart.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
