"""Discount codes in the drawer, shipping choice at checkout, tax, and the PaymentIntent
amount equal to the order total."""
from __future__ import annotations

import html
import json
import urllib.request
from datetime import timedelta

import pytest
from factories import csrf_token, make_page, make_product, make_promotion, make_zone

from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.pricing.context import forget_pricing_config
from storefront.pricing.models import PromotionCode, PromotionUsage, TaxRate
from storefront.types import utcnow

HX = {"HX-Request": "true"}


@pytest.fixture()
def shop(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=50)
    make_page(company, [tee])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": "3"},
                headers={"X-CSRFToken": token, **HX})
    return {"csrf": token, "tee": tee, "company": company}


def post(client, shop, path, data, htmx=True):
    return client.post(path, data=data, headers={"X-CSRFToken": shop["csrf"], **(HX if htmx else {})})


def cart(db):
    return db.session.execute(db.select(Cart)).scalar_one()


def test_code_applies_case_insensitively_and_shows_the_discount(client, db, shop):
    make_promotion(shop["company"])

    response = post(client, shop, "/cart/code", {"code": " save10 "})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "−$6.00" in html and "SAVE10" in html
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Discount applied"
    assert cart(db).promotion_code == "SAVE10"


@pytest.mark.parametrize("setup, message", [
    ({}, "isn't valid"),
    ({"ends_at": -1}, "has expired"),
    ({"starts_at": 1}, "isn't active yet"),
    ({"usage_limit": 1, "times_used": 1}, "used up"),
    ({"min_subtotal_cents": 10000}, "Add $40.00 more"),
    ({"active": False}, "isn't valid"),
])
def test_each_bad_code_gets_its_own_message_and_changes_nothing(client, db, shop, setup, message):
    fields = dict(setup)
    for key in ("ends_at", "starts_at"):
        if key in fields:
            fields[key] = utcnow() + timedelta(days=fields[key])
    if setup:
        make_promotion(shop["company"], **fields)

    response = post(client, shop, "/cart/code", {"code": "SAVE10"})

    assert response.status_code == 422 and message in html.unescape(response.get_data(as_text=True))
    assert cart(db).promotion_code is None


def test_overlong_and_empty_codes(client, db, shop):
    assert post(client, shop, "/cart/code", {"code": "x" * 500}).status_code == 422
    assert post(client, shop, "/cart/code", {"code": ""}).status_code == 422


def test_single_use_generated_code(client, db, shop):
    promotion = make_promotion(shop["company"], code=None, name="Recovery 15", percent_bp=1500)
    db.session.add(PromotionCode(company_id=shop["company"].id, promotion_id=promotion.id, code="BACK-7Q2X",
                                 expires_at=utcnow() + timedelta(days=3)))
    db.session.commit()

    response = post(client, shop, "/cart/code", {"code": "back-7q2x"})

    assert response.status_code == 200 and "−$9.00" in response.get_data(as_text=True)


def test_free_shipping_bar_counts_down(client, db, shop):
    make_zone(shop["company"], methods=[{"name": "Standard", "type": "FLAT_RATE", "amount_cents": 595},
                                        {"name": "Free shipping", "type": "FREE", "free_above_cents": 7500}])

    html = client.get("/cart/drawer", headers=HX).get_data(as_text=True)

    assert "$15.00</strong> away from free shipping" in html


def fill_address(client, shop, country="US"):
    for name, value in {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                        "address1": "1 Way", "city": "Austin", "postcode": "78701", "country": country}.items():
        client.post(f"/checkout/field/{name}", data={name: value}, headers={"X-CSRFToken": shop["csrf"], **HX})


def test_shipping_options_appear_with_the_address_and_update_totals(client, db, shop):
    zone = make_zone(shop["company"], methods=[{"name": "Standard", "type": "FLAT_RATE", "amount_cents": 595},
                                               {"name": "Express", "type": "FLAT_RATE", "amount_cents": 1500}])
    client.get("/checkout")
    before = client.get("/checkout").get_data(as_text=True)
    assert "Enter your address to see shipping options" in before

    fill_address(client, shop)
    response = post(client, shop, "/checkout/field/country", {"country": "US"})
    assert "Express" in response.get_data(as_text=True) and 'hx-swap-oob="true"' in response.get_data(as_text=True)

    express = zone.methods[1].id
    chosen = post(client, shop, "/checkout/shipping", {"shipping_method_id": express})
    html = chosen.get_data(as_text=True)
    assert chosen.status_code == 200 and "$75.00" in html  # 60.00 + 15.00
    assert cart(db).shipping_method_id == express

    foreign = post(client, shop, "/checkout/shipping", {"shipping_method_id": "999999"})
    assert "isn't available" in json.loads(foreign.headers["HX-Trigger"])["toast"]["message"]
    assert cart(db).shipping_method_id == express


def test_address_without_a_zone_blocks_payment(client, db, shop):
    make_zone(shop["company"])
    client.get("/checkout")
    fill_address(client, shop, country="FR")

    page = client.get("/checkout").get_data(as_text=True)
    response = client.post("/checkout/pay", data={"csrf_token": shop["csrf"]})

    assert "don't ship to this address" in html.unescape(page)
    assert response.status_code == 409 and "don't ship" in response.get_json()["error"]


def test_paid_amount_equals_order_total_with_code_shipping_and_tax(client, db, shop, localstripe):
    company = shop["company"]
    make_zone(company)
    make_promotion(company)
    db.session.add(TaxRate(company_id=company.id, country="US", rate_micro=82500, name="TX sales tax"))
    db.session.commit()
    forget_pricing_config(company.id)
    post(client, shop, "/cart/code", {"code": "SAVE10"})
    client.get("/checkout")
    fill_address(client, shop)

    from test_checkout import card_token

    response = client.post("/checkout/pay", data={"csrf_token": shop["csrf"], "card_id": card_token(localstripe)})

    assert response.status_code == 200, response.get_json()
    order = db.session.execute(db.select(Order)).scalar_one()
    # 60.00 − 6.00 = 54.00; tax 8.25 % of 54.00 = 4.455 → 4.46 and of 5.95 = 0.49; + 5.95 shipping.
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (6000, 600, 595, 495)
    assert order.total_cents == 6000 - 600 + 595 + 495 == order.amount_paid_cents
    assert order.status == "PAID" and order.promotion_code == "SAVE10"
    with urllib.request.urlopen(urllib.request.Request(
            f"{localstripe}/v1/payment_intents/{order.payment_intent_id}",
            headers={"Authorization": "Bearer sk_test_localstripe"})) as reply:
        assert json.load(reply)["amount"] == order.total_cents
    usage = db.session.execute(db.select(PromotionUsage)).scalar_one()
    assert usage.discount_cents == 600 and usage.email == "ada@example.com"


def test_stock_gone_after_payment_is_refunded_through_stripe(client, db, shop, localstripe, run_jobs):
    """The payment succeeded but the last units sold meanwhile: the order is refunded."""
    from factories import WEBHOOK_SECRET, sign_payload
    from test_checkout import card_token

    from storefront.cart.services import cart_info
    from storefront.payments import gateway

    basket = cart(db)
    intent = gateway.ensure_payment_intent(basket, cart_info(basket).subtotal_cents)
    paid = gateway.confirm_with_card(intent.id, card_token(localstripe))
    assert paid.status == "succeeded"
    shop["tee"].variants[0].stock = 1  # someone else bought the rest
    db.session.commit()

    event = {"id": "evt_sold_out", "type": "payment_intent.succeeded", "data": {"object": {
        "id": intent.id, "amount": 6000, "amount_received": 6000, "currency": "usd",
        "metadata": {"cart_id": str(basket.id), "company_id": str(basket.company_id)}}}}
    body = json.dumps(event).encode()
    client.post("/webhooks/stripe", data=body, content_type="application/json",
                headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    run_jobs()

    order = db.session.execute(db.select(Order)).scalar_one()
    db.session.refresh(order)
    assert order.status == "REFUNDED" and order.refund_id.startswith("re_")
    assert shop["tee"].variants[0].stock == 1
    with urllib.request.urlopen(urllib.request.Request(
            f"{localstripe}/v1/refunds/{order.refund_id}", headers={"Authorization": "Bearer sk_test_localstripe"})) as reply:
        refund = json.load(reply)
    assert refund["amount"] == 6000
    page = client.get(f"/orders/{order.token}").get_data(as_text=True)
    assert "sold out" in page and "has been" in page
