"""The billing admin: plans created, edited, refused field by field and deleted or archived
(with and without htmx), subscriptions listed and shown with every attempt's reason, the
dashboard's MRR, and tenancy (another merchant's plan or subscription answers 404)."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from factories import csrf_token, make_product

from storefront.accounts.models import Company
from storefront.billing.admin_services import dashboard, monthly_cents
from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan
from storefront.checkout.models import Customer

HX = {"HX-Request": "true"}
T0 = datetime(2026, 3, 2, 15, tzinfo=UTC)


@pytest.fixture()
def token(admin) -> str:
    return csrf_token(admin, "/admin/plans")


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _form(variant_id, **changes):
    data = {"name": "Coffee every month", "variant": str(variant_id), "price": "18.00", "interval": "MONTHLY",
            "interval_count": "1", "trial_days": "0", "status": "ACTIVE", "retry_strategy": "MI_OPTIMIZED",
            "fixed_schedule_days": "1, 3, 5, 7", "max_retries": "4", "max_days_to_retry": "14",
            "retry_window_start": "9", "retry_window_end": "18", "timezone": "America/Chicago",
            "after_max_retries_action": "CANCEL", "enable_payday_detection": "1", "send_failure_email": "1"}
    data.update(changes)
    return data


def _subscription(db, company, plan, email="sam@example.com", status="ACTIVE", quantity=1):
    customer = Customer(company_id=company.id, email=email)
    db.session.add(customer)
    db.session.flush()
    sub = Subscription(company_id=company.id, customer_id=customer.id, plan_id=plan.id, quantity=quantity,
                       status=status, current_period_start=T0, current_period_end=T0, next_billing_at=T0)
    db.session.add(sub)
    db.session.commit()
    return sub


def test_a_plan_is_created_and_edited_without_javascript(admin, token, db, company):
    product = make_product(company, "House Coffee", price_cents=2000)
    page = _text(admin.get("/admin/plans/new"))
    assert "No outside AI service is called." in page and "House Coffee" in page
    answer = admin.post("/admin/plans/new", data={**_form(product.variants[0].id), "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin/plans")
    plan = db.session.execute(db.select(SubscriptionPlan)).scalar_one()
    assert (plan.price_cents, plan.currency, plan.product_id, plan.fixed_schedule_days, plan.timezone) == (
        1800, "USD", product.id, [1, 3, 5, 7], "America/Chicago")
    assert plan.enable_payday_detection and not plan.enable_time_optimization
    # Move the retry window past its old end and shorten the schedule: saved in an order the model accepts.
    answer = admin.post(f"/admin/plans/{plan.id}", data={
        **_form(product.variants[0].id, retry_window_start="19", retry_window_end="22",
                fixed_schedule_days="2, 4", max_days_to_retry="5"), "csrf_token": token})
    assert answer.status_code == 303
    db.session.refresh(plan)
    assert (plan.retry_window_start, plan.retry_window_end, plan.fixed_schedule_days, plan.max_days_to_retry) == (
        19, 22, [2, 4], 5)
    assert "Coffee every month" in _text(admin.get("/admin/plans"))


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"interval_count": "-1"}, "interval_count", "Interval count must be a whole number from 1 to 365."),
    ({"retry_window_start": "18", "retry_window_end": "9"}, "retry_window_end", "The retry window is empty"),
    ({"max_days_to_retry": "61"}, "max_days_to_retry", "from 1 to 60"),
    ({"fixed_schedule_days": "1, 3, 20"}, "fixed_schedule_days", "past the days to retry (14)"),
    ({"fixed_schedule_days": "3, one"}, "fixed_schedule_days", "separated by commas"),
    ({"timezone": "Mars/Olympus"}, "timezone", "IANA timezone"),
    ({"retry_strategy": "RANDOM"}, "retry_strategy", "from the list"),
])
def test_invalid_settings_are_refused_field_by_field_over_htmx(admin, token, db, company, changes, field, message):
    product = make_product(company, "House Coffee")
    answer = admin.post("/admin/plans/new", data={**_form(product.variants[0].id, **changes), "csrf_token": token},
                        headers=HX)
    body = _text(answer)
    assert answer.status_code == 422 and message in body
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', body)
    assert db.session.execute(db.select(db.func.count(SubscriptionPlan.id))).scalar() == 0


def test_deleting_a_plan_with_subscribers_archives_it(admin, token, db, company):
    product = make_product(company, "House Coffee")
    admin.post("/admin/plans/new", data={**_form(product.variants[0].id), "csrf_token": token})
    plan = db.session.execute(db.select(SubscriptionPlan)).scalar_one()
    _subscription(db, company, plan)
    assert "Yes, delete or archive it" in _text(admin.get(f"/admin/plans/{plan.id}/delete"))
    answer = admin.post(f"/admin/plans/{plan.id}/delete", data={"confirmed": "yes", "csrf_token": token})
    assert answer.status_code == 303
    db.session.refresh(plan)
    assert plan.status == "ARCHIVED"


def test_a_subscription_shows_its_attempts_with_their_reasons(admin, db, company):
    product = make_product(company, "House Coffee")
    plan = SubscriptionPlan(company_id=company.id, product_id=product.id, variant_id=product.variants[0].id,
                            name="Coffee", price_cents=1800, currency="USD")
    db.session.add(plan)
    db.session.commit()
    sub = _subscription(db, company, plan, status="PAST_DUE")
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=T0, period_end=T0,
                      amount_cents=1800, currency="USD")
    db.session.add(invoice)
    db.session.flush()
    reason = "Fri 13 Mar: 15th = detected payday (4 of 5 past payments within 2 days); insufficient_funds"
    db.session.add_all([
        PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=1, idempotency_key="invoice-1-attempt-1",
                       status="FAILED", scheduled_at=T0, reason="renewal due", decline_code="insufficient_funds",
                       decline_class="SOFT"),
        PaymentAttempt(company_id=company.id, invoice_id=invoice.id, number=2, idempotency_key="invoice-1-attempt-2",
                       status="SCHEDULED", scheduled_at=T0, reason=reason, kind="RETRY")])
    db.session.commit()
    answer = admin.get("/admin/subscriptions?status=PAST_DUE", headers=HX)
    listing = _text(answer)
    assert answer.status_code == 200 and "sam@example.com" in listing and 'id="subscription-results"' in listing and "<html" not in listing
    assert "sam@example.com" not in _text(admin.get("/admin/subscriptions?status=CANCELED"))
    detail = _text(admin.get(f"/admin/subscriptions/{sub.id}"))
    assert reason in detail and "insufficient_funds (soft)" in detail


def test_mrr_counts_live_subscriptions_per_month(admin, db, company):
    product = make_product(company, "House Coffee")
    monthly = SubscriptionPlan(company_id=company.id, product_id=product.id, name="M", price_cents=1800, currency="USD")
    weekly = SubscriptionPlan(company_id=company.id, product_id=product.id, name="W", price_cents=500, currency="USD",
                              interval="WEEKLY", interval_count=2)
    db.session.add_all([monthly, weekly])
    db.session.commit()
    _subscription(db, company, monthly, "a@example.com", quantity=2)
    _subscription(db, company, weekly, "b@example.com", status="PAST_DUE")
    _subscription(db, company, monthly, "c@example.com", status="CANCELED")
    assert monthly_cents(500, 1, "WEEKLY", 2) == 1083  # 500 × 52 / 12 / 2 = 1083.33
    figures = dashboard(company.id)
    assert figures.mrr == {"USD": 3600 + 1083} and figures.active == 2
    assert "$46.83" in _text(admin.get("/admin/billing"))


def test_another_merchants_plan_and_subscription_answer_404(admin, token, db, company):
    rival = Company(name="Rival", slug="rival", currency="EUR")
    db.session.add(rival)
    db.session.commit()
    product = make_product(rival, "Rival Tea")
    plan = SubscriptionPlan(company_id=rival.id, product_id=product.id, name="Tea", price_cents=900, currency="EUR")
    db.session.add(plan)
    db.session.commit()
    sub = _subscription(db, rival, plan)
    assert admin.get(f"/admin/plans/{plan.id}").status_code == 404
    assert admin.post(f"/admin/plans/{plan.id}/delete", data={"confirmed": "yes", "csrf_token": token}).status_code == 404
    assert admin.get(f"/admin/subscriptions/{sub.id}").status_code == 404
    assert "rival" not in _text(admin.get("/admin/subscriptions")).lower()
    # Another merchant's variant is not a choice.
    mine = make_product(company, "House Coffee")
    answer = admin.post("/admin/plans/new", data={**_form(product.variants[0].id), "csrf_token": token})
    assert answer.status_code == 422 and mine.id
