"""An order kept for review (NEEDS_REVIEW: paid, but the amount or a discount did not
match) is never announced as confirmed: not on the order page, not in the pay endpoint's
answer, not by email (the shopper gets a "we're reviewing your order" email instead)."""
from __future__ import annotations

import email
import email.policy
import threading
import time

import pytest
from factories import csrf_token, make_page, make_product, make_promotion
from sqlalchemy import create_engine, text
from test_checkout import ADDRESS, card_token
from test_webhooks import cart_metadata, intent_event, localstripe_intent, make_paid_cart, send

from storefront.checkout.models import Order
from storefront.pricing.models import Promotion

HX = {"HX-Request": "true"}


def only_order(db) -> Order:
    return db.session.execute(db.select(Order)).scalar_one()


def mail(message) -> tuple[str, str]:
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    return parsed["Subject"], parsed.get_body(("plain",)).get_content() + parsed.get_body(("html",)).get_content()


def shopper_with_a_tee(client, company, code: str | None = None) -> str:
    """A shopper with one $20.00 tee (and ``code``) in the cart, on the checkout page;
    returns the CSRF token."""
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    make_page(company, [tee])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 1},
                headers={"X-CSRFToken": token, **HX})
    if code:
        assert client.post("/cart/code", data={"code": code}, headers={"X-CSRFToken": token, **HX}).status_code == 200
    client.get("/checkout")
    return token


@pytest.fixture()
def underpaid_order(client, db, company, localstripe):
    """A $20.00 cart for which Stripe received $15.00, made into an order by the webhook."""
    cart = make_paid_cart(db, company)
    intent_id = localstripe_intent(localstripe, 1500, cart_metadata(cart))
    assert send(client, intent_event(intent_id)).status_code == 200
    order = only_order(db)
    assert order.status == "NEEDS_REVIEW" and order.amount_paid_cents == 1500
    return order


def test_order_page_says_the_order_is_being_reviewed(client, underpaid_order):
    page = client.get(f"/orders/{underpaid_order.token}").get_data(as_text=True)

    assert "We're reviewing your order" in page or "We&#39;re reviewing your order" in page
    assert f"#{underpaid_order.number}" in page and "$15.00" in page
    assert "confirmed" not in page.replace("before we confirm it", "")
    assert f"Order #{underpaid_order.number} being reviewed" in page  # the title


def test_paid_order_page_still_says_confirmed(client, db, company, localstripe):
    cart = make_paid_cart(db, company)
    send(client, intent_event(localstripe_intent(localstripe, 2000, cart_metadata(cart))))
    order = only_order(db)

    page = client.get(f"/orders/{order.token}").get_data(as_text=True)

    assert order.status == "PAID" and "is confirmed" in page and "reviewing" not in page


def test_review_email_instead_of_a_confirmation(smtp, underpaid_order, run_jobs):
    run_jobs()

    [message] = smtp
    subject, body = mail(message)
    assert subject == f"Acme Apparel: order #{underpaid_order.number} received, we're reviewing it"
    assert "confirmed" not in subject and "confirmed" not in body.lower().replace("before we confirm it", "")
    assert "checking a detail" in body and f"/orders/{underpaid_order.token}" in body


@pytest.mark.postgres
def test_pay_answer_says_reviewing_when_the_code_ran_out_while_paying(app, client, db, company, localstripe,
                                                                    smtp, run_jobs, is_postgres, database_url):
    """A single-use budget code is used up by another checkout while this shopper pays:
    the payment went through, the order is kept for review, and pay's answer says so.

    The other checkout is real: this test holds the promotion's row lock (as that
    checkout's order would) until the pay request waits on it, then uses the code up.
    """
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    promotion = make_promotion(company, usage_limit=1)
    token = shopper_with_a_tee(client, company, code="SAVE10")
    form = {"csrf_token": token, "email": "ada@example.com", **ADDRESS, "card_id": card_token(localstripe)}

    engine = create_engine(db.engine.url)
    other = engine.connect()
    other_txn = other.begin()
    other.execute(text("SELECT id FROM promotions WHERE id = :id FOR UPDATE"), {"id": promotion.id})
    answers = []
    paying = threading.Thread(target=lambda: answers.append(
        client.post("/checkout/pay", data=form, headers={"Accept": "application/json"})))
    paying.start()
    try:
        # A bounded wait until pay blocks on the row lock (not a timing assertion).
        with engine.connect() as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not watcher.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar():
                time.sleep(0.05)
        other.execute(text("UPDATE promotions SET times_used = usage_limit WHERE id = :id"), {"id": promotion.id})
    finally:
        other_txn.commit()
        other.close()
        paying.join(timeout=60)
        engine.dispose()

    [response] = answers
    body = response.get_json()
    db.session.expire_all()
    order = only_order(db)
    assert response.status_code == 200, body
    assert order.status == "NEEDS_REVIEW" and order.amount_paid_cents == order.total_cents == 1800
    assert body["status"] == "succeeded" and body["order_status"] == "NEEDS_REVIEW"
    assert "reviewing your order" in body["message"] and "confirmed" not in body["message"]
    assert body["redirect"] == f"/orders/{order.token}"
    assert db.session.get(Promotion, promotion.id).times_used == 1  # the other checkout's use only
    run_jobs()
    assert [mail(m)[0] for m in smtp] == [f"Acme Apparel: order #{order.number} received, we're reviewing it"]


def test_pay_answer_for_a_paid_order_has_no_review_message(client, db, company, localstripe):
    token = shopper_with_a_tee(client, company)

    response = client.post("/checkout/pay", data={"csrf_token": token, "email": "ada@example.com", **ADDRESS,
                                                  "card_id": card_token(localstripe)})

    body = response.get_json()
    assert body["status"] == "succeeded" and "order_status" not in body and "message" not in body
    assert only_order(db).status == "PAID"
