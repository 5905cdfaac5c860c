"""The portal's subscription actions, without JavaScript (303 + flash) and with htmx (the
block + a toast): pause, resume, skip, quantity, date, cancel meeting the save offer once;
repeated actions are no-ops that say so; another customer's ids answer 404; bad input 4xx."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from billing_kit import make_plan
from portal_kit import HX, make_customer, make_subscription, sign_in

from storefront.accounts.models import Company
from storefront.billing.models import SaveOffer, Subscription
from storefront.checkout.models import Order


def _sub(db, sub_id):
    db.session.expire_all()
    return db.session.get(Subscription, sub_id)


def _post(client, csrf, path, data=None, htmx=False):
    return client.post(path, data=data or {}, headers={"X-CSRFToken": csrf, **(HX if htmx else {})})


def _toast(answer) -> str:
    return json.loads(answer.headers["HX-Trigger"])["toast"]["message"]


def test_pause_and_resume_without_javascript_and_pausing_twice_is_a_no_op(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    paused = _post(client, csrf, f"/account/subscriptions/{sub.id}/pause")
    assert paused.status_code == 303 and paused.location.endswith(f"/account/subscriptions/{sub.id}")
    assert _sub(db, sub.id).status == "PAUSED" and _sub(db, sub.id).next_billing_at is None
    assert "Your subscription is paused" in client.get(paused.location).get_data(as_text=True)
    again = _post(client, csrf, f"/account/subscriptions/{sub.id}/pause")
    assert "already paused" in client.get(again.location).get_data(as_text=True)
    resumed = _post(client, csrf, f"/account/subscriptions/{sub.id}/resume")
    assert resumed.status_code == 303 and _sub(db, sub.id).status == "ACTIVE"
    assert _sub(db, sub.id).next_billing_at == _sub(db, sub.id).current_period_end


def test_htmx_actions_answer_the_block_with_a_toast(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    answer = _post(client, csrf, f"/account/subscriptions/{sub.id}/pause", htmx=True)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in body and 'id="subscription"' in body
    assert "HX-Request" in answer.headers["Vary"] and answer.headers["Cache-Control"] == "no-store"
    assert "paused" in _toast(answer) and "Paused" in body
    assert 'name="quantity" type="number" value="1"' in body  # the stored value, not the post's
    again = _post(client, csrf, f"/account/subscriptions/{sub.id}/pause", htmx=True)
    assert again.status_code == 200 and "already paused" in _toast(again)


def test_skipping_moves_the_next_charge_once_even_when_sent_twice(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    before = sub.next_billing_at
    csrf = sign_in(client, company, customer, smtp)
    seen = {"charge": before.date().isoformat()}
    first = _post(client, csrf, f"/account/subscriptions/{sub.id}/skip", seen, htmx=True)
    assert first.status_code == 200 and "Skipped" in _toast(first)
    moved = _sub(db, sub.id).next_billing_at
    assert moved.month != before.month or moved.year != before.year
    second = _post(client, csrf, f"/account/subscriptions/{sub.id}/skip", seen)
    assert second.status_code == 303 and _sub(db, sub.id).next_billing_at == moved
    assert "already skipped" in client.get(second.location).get_data(as_text=True)
    bad = _post(client, csrf, f"/account/subscriptions/{sub.id}/skip", {"charge": "2026-02-30"}, htmx=True)
    assert bad.status_code == 422 and _sub(db, sub.id).next_billing_at == moved


def test_quantity_is_checked_field_by_field(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    for bad in ("0", "101", "²", "1e3", str(2**31), ""):
        answer = _post(client, csrf, f"/account/subscriptions/{sub.id}/quantity", {"quantity": bad}, htmx=True)
        assert answer.status_code == 422, bad
        assert "Quantity must be a whole number from 1 to 100" in answer.get_data(as_text=True) or bad == ""
    ok = _post(client, csrf, f"/account/subscriptions/{sub.id}/quantity", {"quantity": "3"})
    assert ok.status_code == 303 and _sub(db, sub.id).quantity == 3


def test_the_next_charge_moves_to_a_listed_date_only(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    page = client.get(f"/account/subscriptions/{sub.id}").get_data(as_text=True)
    target = (datetime.now(UTC) + timedelta(days=3)).date()
    assert f'value="{target.isoformat()}"' in page
    moved = _post(client, csrf, f"/account/subscriptions/{sub.id}/date", {"day": target.isoformat()})
    assert moved.status_code == 303 and _sub(db, sub.id).next_billing_at.date() == target
    far = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    for bad in (far, "yesterday", "2026-13-01"):
        assert _post(client, csrf, f"/account/subscriptions/{sub.id}/date", {"day": bad}, htmx=True).status_code == 422
    assert _sub(db, sub.id).next_billing_at.date() == target


def test_a_cancel_meets_the_save_offer_once(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    reason = {"reason": "too_much", "details": "Two bags a month is\nplenty."}
    first = _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", reason)
    assert first.status_code == 303 and _sub(db, sub.id).status == "ACTIVE"
    page = client.get(first.location).get_data(as_text=True)
    assert "Before you go" in page and "20 % off your next delivery" in page
    second = _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", reason, htmx=True)
    assert second.status_code == 200 and "cancelled" in _toast(second)
    cancelled = _sub(db, sub.id)
    assert cancelled.status == "CANCELED" and cancelled.cancel_reason == "too_much: Two bags a month is\nplenty."
    offer = db.session.execute(db.select(SaveOffer)).scalar_one()
    assert offer.status == "DECLINED" and offer.trigger == "CANCEL"
    third = _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", reason, htmx=True)
    assert "already cancelled" in _toast(third)
    assert _post(client, csrf, f"/account/subscriptions/{sub.id}/pause", htmx=True).status_code == 200
    assert _sub(db, sub.id).status == "CANCELED"


def test_taking_the_discount_offer_keeps_the_subscription_and_discounts_the_next_invoice(client, db, company, smtp):
    from storefront.billing.engine import bill_due_subscriptions
    from storefront.billing.models import Invoice

    customer = make_customer(company)
    sub = make_subscription(company, customer, payment_method_id="pm_none")
    csrf = sign_in(client, company, customer, smtp)
    _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", {"reason": "too_expensive"})
    offer = db.session.execute(db.select(SaveOffer)).scalar_one()
    taken = _post(client, csrf, f"/account/subscriptions/{sub.id}/offers/{offer.id}", {"choice": "DISCOUNT"}, htmx=True)
    assert taken.status_code == 200 and "20 % off" in _toast(taken)
    assert _sub(db, sub.id).status == "ACTIVE" and _sub(db, sub.id).next_discount_percent == 20
    again = _post(client, csrf, f"/account/subscriptions/{sub.id}/offers/{offer.id}", {"choice": "PAUSE"}, htmx=True)
    assert "already answered" in _toast(again) and _sub(db, sub.id).status == "ACTIVE"
    bill_due_subscriptions(now=_sub(db, sub.id).next_billing_at + timedelta(minutes=1))
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    assert invoice.amount_cents == 1800 * 80 // 100 and _sub(db, sub.id).next_discount_percent == 0


def test_another_customers_subscription_and_order_answer_404(client, db, company, smtp):
    customer = make_customer(company)
    mine = make_subscription(company, customer)
    neighbour = make_customer(company, "neighbour@example.com", "Nia")
    theirs = make_subscription(company, neighbour, plan=mine.plan)
    other_shop = Company(name="Other", slug="other", currency="USD")
    db.session.add(other_shop)
    db.session.commit()
    stranger = make_customer(other_shop, "sam@example.com")
    foreign = make_subscription(other_shop, stranger, plan=make_plan(other_shop))
    order = Order(company_id=company.id, number="2001", token="n" * 43, customer_id=neighbour.id,
                  email=neighbour.email, currency="USD", subtotal_cents=100, total_cents=100, amount_paid_cents=100)
    db.session.add(order)
    db.session.commit()
    csrf = sign_in(client, company, customer, smtp)
    for sub_id in (theirs.id, foreign.id, 2**31 - 1):
        assert client.get(f"/account/subscriptions/{sub_id}").status_code == 404
        for action in ("pause", "resume", "cancel", "quantity", "date", "skip", "card"):
            data = {"reason": "other", "quantity": "2", "day": "2026-01-01", "charge": "2026-01-01"}
            assert _post(client, csrf, f"/account/subscriptions/{sub_id}/{action}", data).status_code == 404, action
    assert client.get(f"/account/orders/{order.token}").status_code == 404
    assert client.get("/account/").get_data(as_text=True).count("Order #2001") == 0
    assert _sub(db, theirs.id).status == "ACTIVE" and _sub(db, foreign.id).status == "ACTIVE"
    assert client.get(f"/account/subscriptions/{2**31}").status_code in (400, 404)


def test_the_customers_own_order_shows_its_lines(client, db, company, smtp):
    from storefront.checkout.models import OrderLine

    customer = make_customer(company)
    order = Order(company_id=company.id, number="3001", token="o" * 43, customer_id=customer.id, email=customer.email,
                  currency="USD", subtotal_cents=3600, total_cents=3600, amount_paid_cents=3600)
    order.lines.append(OrderLine(product_title="House Coffee", unit_price_cents=1800, quantity=2, line_total_cents=3600))
    db.session.add(order)
    db.session.commit()
    sign_in(client, company, customer, smtp)
    assert "Order #3001" in client.get("/account/").get_data(as_text=True)
    page = client.get(f"/account/orders/{order.token}")
    assert page.status_code == 200 and "House Coffee" in page.get_data(as_text=True)
    fragment = client.get(f"/account/orders/{order.token}", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "House Coffee" in fragment


def test_nul_and_oversized_inputs_are_refused_with_4xx(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    assert _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", {"reason": "other", "details": "a\x00b"}).status_code == 400
    huge = _post(client, csrf, f"/account/subscriptions/{sub.id}/cancel", {"reason": "other", "details": "x" * 100_000}, htmx=True)
    assert huge.status_code in (413, 422)
    assert _post(client, csrf, "/account/settings/details", {"first_name": "x" * 5000}, htmx=True).status_code == 422
    assert _sub(db, sub.id).status == "ACTIVE"


def test_settings_save_name_address_and_email_preferences(client, db, company, smtp):
    from storefront.checkout.models import Customer
    from storefront.notifications.suppression import is_suppressed

    customer = make_customer(company)
    sub = make_subscription(company, customer)
    csrf = sign_in(client, company, customer, smtp)
    assert _post(client, csrf, "/account/settings/details", {"first_name": "Samira", "last_name": "Lee"}).status_code == 303
    assert db.session.get(Customer, customer.id).first_name == "Samira"
    address = {"address1": "1 Main St", "city": "Springfield", "postcode": "12345", "country": "US"}
    assert _post(client, csrf, f"/account/settings/address/{sub.id}", address).status_code == 303
    assert _sub(db, sub.id).shipping_address == address
    bad = _post(client, csrf, f"/account/settings/address/{sub.id}", {**address, "country": "XX"}, htmx=True)
    assert bad.status_code == 422
    off = _post(client, csrf, "/account/settings/emails", {"emails": "no"}, htmx=True)
    assert off.status_code == 200 and "unsubscribed" in _toast(off) and is_suppressed(company.id, customer.email)
    on = _post(client, csrf, "/account/settings/emails", {"emails": "yes"})
    assert on.status_code == 303 and not is_suppressed(company.id, customer.email)


def test_removing_a_card_needs_a_card_of_ones_own_that_nothing_needs(client, db, company, smtp):
    customer = make_customer(company)
    sub = make_subscription(company, customer, payment_method_id="pm_live")
    csrf = sign_in(client, company, customer, smtp)
    empty = _post(client, csrf, "/account/cards/remove", {"card": ""}, htmx=True)
    assert empty.status_code == 422 and "Card is required" in empty.get_data(as_text=True)
    unknown = _post(client, csrf, "/account/cards/remove", {"card": "pm_someone_else"}, htmx=True)
    assert unknown.status_code == 200 and "not saved on your account" in _toast(unknown)
    needed = _post(client, csrf, "/account/cards/remove", {"card": "pm_live"})
    assert needed.status_code == 303 and _sub(db, sub.id).payment_method_id == "pm_live"
    assert "still uses this card" in client.get(needed.location).get_data(as_text=True)


def test_after_the_retries_the_save_flow_offer_waits_in_the_portal(client, db, company, smtp):
    from storefront.billing.engine import apply_final_action
    from storefront.billing.models import Invoice
    from storefront.types import utcnow

    customer = make_customer(company)
    sub = make_subscription(company, customer, plan=make_plan(company, after_max_retries_action="SAVE_FLOW"),
                            status="PAST_DUE")
    invoice = Invoice(company_id=company.id, subscription_id=sub.id, period_start=sub.current_period_start,
                      period_end=sub.current_period_end, amount_cents=1800, currency="USD")
    db.session.add(invoice)
    db.session.commit()
    apply_final_action(invoice, sub, utcnow())
    db.session.commit()
    csrf = sign_in(client, company, customer, smtp)
    page = client.get(f"/account/subscriptions/{sub.id}").get_data(as_text=True)
    assert "Keep your subscription" in page and "Skip the next delivery" in page
    offer = db.session.execute(db.select(SaveOffer)).scalar_one()
    paused = _post(client, csrf, f"/account/subscriptions/{sub.id}/offers/{offer.id}", {"choice": "PAUSE"})
    assert paused.status_code == 303 and _sub(db, sub.id).status == "PAUSED"
    assert "Keep your subscription" not in client.get(paused.location).get_data(as_text=True)
    wrong = _post(client, csrf, f"/account/subscriptions/{sub.id}/offers/{offer.id}", {"choice": "FREE"}, htmx=True)
    assert wrong.status_code == 422
