"""Checkout: progressive capture field by field (htmx), the whole form without JavaScript,
Leads, payment through localstripe, and the confirmation page and email."""
from __future__ import annotations

import email
import email.policy
import json
import urllib.parse
import urllib.request

import pytest
from factories import csrf_token, make_page, make_product

from storefront.cart.models import Cart
from storefront.checkout.models import Customer, Order
from storefront.leads.models import Lead
from storefront.visits.models import Visit, VisitEvent

HX = {"HX-Request": "true"}
ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Analytical Way",
           "city": "Austin", "postcode": "78701", "country": "US"}


@pytest.fixture()
def cart_ready(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    hoodie = make_product(company, "Hoodie", price_cents=4500, variants=[{"Size": "S"}, {"Size": "M"}])
    make_page(company, [tee, hoodie])
    client.get("/lp/summer-sale?utm_source=newsletter&utm_campaign=june")
    token = csrf_token(client, "/lp/summer-sale")
    for variant_id, quantity in ((tee.variants[0].id, 2), (hoodie.variants[1].id, 1)):
        client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity},
                    headers={"X-CSRFToken": token, **HX})
    return {"csrf": token, "tee": tee, "hoodie": hoodie}


def capture(client, cart_ready, name, value):
    return client.post(f"/checkout/field/{name}", data={name: value},
                       headers={"X-CSRFToken": cart_ready["csrf"], **HX})


def card_token(base: str, number: str = "4242424242424242") -> str:
    """Tokenise a test card at localstripe the way Stripe.js does in the browser."""
    body = urllib.parse.urlencode({"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
                                   "card[cvc]": "123", "key": "pk_test_localstripe"}).encode()
    with urllib.request.urlopen(base + "/v1/tokens", data=body, timeout=5) as response:
        return json.load(response)["card"]["id"]


def test_checkout_page_shows_summary_and_records_start_once(client, db, cart_ready):
    first = client.get("/checkout")
    client.get("/checkout")

    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "Order summary" in html
    assert "$85.00" in html and "Hoodie" in html
    assert first.headers["Cache-Control"] == "no-store"
    assert db.session.execute(
        db.select(db.func.count()).select_from(VisitEvent).filter_by(type="checkout_started")
    ).scalar() == 1


def test_empty_cart_checkout_redirects_to_cart(client, db, company):
    response = client.get("/checkout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")


def test_field_capture_validates_and_creates_lead_on_first_valid_email(client, db, cart_ready):
    client.get("/checkout")
    bad = capture(client, cart_ready, "email", "not-an-email")
    assert "Enter a valid email" in bad.get_data(as_text=True) and "is-invalid" in bad.get_data(as_text=True)
    assert db.session.execute(db.select(Lead)).scalar_one_or_none() is None

    good = capture(client, cart_ready, "email", "Ada@Example.com")
    assert "is-valid" in good.get_data(as_text=True)
    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert lead.email == "Ada@example.com"
    assert lead.capture_stage == "CHECKOUT" and lead.status == "NEW"
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert lead.cart_id == cart.id and lead.visit_id == cart.visit_id
    assert lead.source_detail == "newsletter"

    capture(client, cart_ready, "first_name", "Ada")
    capture(client, cart_ready, "city", "Austin")
    db.session.refresh(lead)
    assert lead.captured_fields == ["email", "first_name", "city"]
    assert lead.last_active_field == "city"
    assert lead.completion_pct == 3 * 100 // 9


def test_phone_alone_creates_a_lead_that_merges_when_email_arrives(client, db, company, cart_ready):
    client.get("/checkout")
    existing = Lead(company_id=company.id, email="ada@example.com", status="NEW")
    db.session.add(existing)
    db.session.commit()

    capture(client, cart_ready, "phone", "(512) 555-0134")
    phone_lead = db.session.execute(db.select(Lead).filter_by(email=None)).scalar_one()
    assert phone_lead.phone == "+15125550134"

    capture(client, cart_ready, "email", "ada@example.com")
    leads = db.session.execute(db.select(Lead)).scalars().all()
    assert len(leads) == 1
    assert leads[0].id == existing.id and leads[0].phone == "+15125550134"


def test_invalid_phone_and_unknown_field(client, db, cart_ready):
    client.get("/checkout")
    assert "valid phone" in capture(client, cart_ready, "phone", "12").get_data(as_text=True)
    assert capture(client, cart_ready, "password", "x").status_code == 404
    too_long = capture(client, cart_ready, "city", "x" * 500)
    assert "too long" in too_long.get_data(as_text=True)


def test_no_js_full_form_saves_valid_fields_and_shows_errors_422(client, db, cart_ready):
    client.get("/checkout")
    form = {"csrf_token": cart_ready["csrf"], "email": "ada@example.com", "phone": "", **ADDRESS, "city": ""}

    response = client.post("/checkout", data=form)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "City is required" in html and 'value="1 Analytical Way"' in html
    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert lead.first_name == "Ada" and "city" not in lead.captured_fields

    form["city"] = "Austin"
    response = client.post("/checkout", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout#payment")


def test_pay_refuses_until_required_fields_are_complete(client, db, cart_ready):
    client.get("/checkout")
    capture(client, cart_ready, "email", "ada@example.com")

    response = client.post("/checkout/pay", data={"csrf_token": cart_ready["csrf"]})

    assert response.status_code == 422
    assert "First name" in response.get_json()["error"]


def pay(client, cart_ready, base, number="4242424242424242"):
    form = {"csrf_token": cart_ready["csrf"], "email": "ada@example.com", "phone": "+1 512 555 0134",
            **ADDRESS, "card_id": card_token(base, number)}
    return client.post("/checkout/pay", data=form, headers={"Accept": "application/json"})


def test_paying_with_4242_creates_one_attributed_order(app, client, db, cart_ready, localstripe, smtp, run_jobs):
    client.get("/checkout")

    response = pay(client, cart_ready, localstripe)

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "succeeded"
    order = db.session.execute(db.select(Order)).scalar_one()
    assert body["redirect"] == f"/orders/{order.token}"
    assert order.total_cents == 8500 and order.amount_paid_cents == 8500 and order.status == "PAID"
    assert order.utm_source == "newsletter" and order.utm_campaign == "june"
    assert order.source_type == "LANDING_PAGE" and order.landing_page_id is not None
    assert [(line.product_title, line.quantity, line.unit_price_cents) for line in order.lines] == [
        ("Classic Tee", 2, 2000), ("Hoodie", 1, 4500)]
    assert order.lines[1].variant_title == "M"
    assert db.session.get(Customer, order.customer_id).email == "ada@example.com"
    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert lead.status == "CONVERTED" and lead.actual_value_cents == 8500
    assert db.session.get(Cart, order.cart_id).status == "CONVERTED"
    assert db.session.get(Visit, order.visit_id).converted_at is not None
    assert cart_ready["tee"].variants[0].stock == 3
    page = client.get(body["redirect"]).get_data(as_text=True)
    assert f"#{order.number}" in page and "Thank you, Ada" in page
    run_jobs()
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["ada@example.com"]
    message = email.message_from_bytes(smtp[0].content, policy=email.policy.default)
    assert message["Subject"] == f"Acme Apparel: order #{order.number} confirmed"
    assert f"/orders/{order.token}" in message.get_body(("plain",)).get_content()
    types = [e.type for e in db.session.execute(db.select(VisitEvent).order_by(VisitEvent.id)).scalars()]
    assert types[-2:] == ["payment_submitted", "order_completed"]


def test_declined_card_keeps_the_cart_and_says_why(client, db, cart_ready, localstripe):
    client.get("/checkout")

    response = pay(client, cart_ready, localstripe, number="4000000000000341")

    assert response.status_code == 402
    assert "declined" in response.get_json()["error"].lower()
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert cart.status == "ACTIVE" and len(cart.lines) == 2
    assert db.session.execute(db.select(Order)).scalar_one_or_none() is None
    assert "declined" in client.get("/checkout").get_data(as_text=True).lower()


def test_return_after_payment_finds_the_same_order(client, db, cart_ready, localstripe):
    client.get("/checkout")
    pay(client, cart_ready, localstripe)
    order = db.session.execute(db.select(Order)).scalar_one()

    response = client.get(f"/checkout/complete?payment_intent={order.payment_intent_id}")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.token}")
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1


def test_order_page_needs_the_token(client, db):
    assert client.get("/orders/1").status_code == 404
    assert client.get("/orders/" + "a" * 43).status_code == 404


def test_return_before_webhook_then_localstripe_delivers_it(client, db, cart_ready, localstripe, live_server):
    """The shopper's return made the order; localstripe's real webhook then changes nothing."""
    import time

    from storefront.payments.models import StripeEvent

    client.get("/checkout")
    assert pay(client, cart_ready, localstripe).get_json()["status"] == "succeeded"

    # A bounded wait for localstripe's asynchronous delivery (not a timing assertion).
    deadline = time.monotonic() + 30
    delivered = None
    while delivered is None and time.monotonic() < deadline:
        db.session.rollback()
        delivered = db.session.execute(
            db.select(StripeEvent).filter_by(type="payment_intent.succeeded")
        ).scalar_one_or_none()
        time.sleep(0.1)
    assert delivered is not None, "localstripe did not deliver the webhook"
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1
