"""POST /webhooks/stripe with Stripe's real payloads (shared/data/stripe), signed in the test
with the webhook secret: bad signatures, replays, events out of order, hosted Checkout, and
the shopper's return racing the webhook through real localstripe deliveries."""
from __future__ import annotations

import copy
import json
import time

import pytest
from factories import STRIPE_DIR, WEBHOOK_SECRET, make_product, sign_payload

from storefront.cart.models import Cart, LineItem
from storefront.checkout.models import Order
from storefront.payments.models import StripeEvent

RUBY_MOCK = STRIPE_DIR / "stripe-ruby-mock"
LOCALSTRIPE = STRIPE_DIR / "localstripe-generated"


def load(name: str, folder=RUBY_MOCK) -> dict:
    return json.loads((folder / name).read_text())


def send(client, event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body = json.dumps(event).encode()
    return client.post("/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": sign_payload(body, secret, timestamp)})


@pytest.fixture()
def paid_cart(db, company):
    """A cart of 2 × $10.00 = $20.00, matching the 2000-cent real payment_intent payload."""
    product = make_product(company, "Tote Bag", price_cents=1000, stock=10)
    cart = Cart(token="t" * 43, company_id=company.id, currency="USD", source_type="DIRECT",
                checkout_fields={"email": "buyer@example.com", "first_name": "Bo"})
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=product.variants[0].id, quantity=2, unit_price_cents=1000))
    db.session.commit()
    return cart


def succeeded_event(cart, event_id="evt_succeeded_1") -> dict:
    event = load("event.payment_intent.succeeded.json")
    event["id"] = event_id
    event["data"]["object"]["metadata"] = {"cart_id": str(cart.id), "company_id": str(cart.company_id)}
    return event


def orders(db):
    return db.session.execute(db.select(Order)).scalars().all()


def test_payment_intent_succeeded_creates_the_order_once(client, db, paid_cart):
    event = succeeded_event(paid_cart)

    first = send(client, event)
    replay = send(client, event)

    assert first.status_code == 200 and first.get_json()["outcome"] == "processed"
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    [order] = orders(db)
    assert order.amount_paid_cents == 2000 and order.total_cents == 2000 and order.status == "PAID"
    assert order.payment_intent_id == "pi_000000000000000000000000"
    assert order.email == "buyer@example.com"
    assert db.session.get(Cart, paid_cart.id).status == "CONVERTED"
    assert paid_cart.lines[0].variant.stock == 8


def test_same_payment_in_a_new_event_id_still_makes_one_order(client, db, paid_cart):
    send(client, succeeded_event(paid_cart, "evt_a"))
    response = send(client, succeeded_event(paid_cart, "evt_b"))

    assert response.status_code == 200
    assert len(orders(db)) == 1
    assert len(db.session.execute(db.select(StripeEvent)).scalars().all()) == 2


@pytest.mark.parametrize("signature", ["", "t=1,v1=deadbeef", "garbage"])
def test_bad_signature_answers_400_and_changes_nothing(client, db, paid_cart, signature):
    body = json.dumps(succeeded_event(paid_cart)).encode()

    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature})

    assert response.status_code == 400
    assert orders(db) == [] and db.session.execute(db.select(StripeEvent)).first() is None


def test_wrong_secret_and_stale_timestamp_are_refused(client, db, paid_cart):
    event = succeeded_event(paid_cart)

    assert send(client, event, secret="whsec_someone_else").status_code == 400
    assert send(client, event, timestamp=int(time.time()) - 3600).status_code == 400
    assert orders(db) == []


def test_localstripe_generated_payload_with_its_own_signature_is_verified(app, client, db):
    body = (LOCALSTRIPE / "event.payment_intent.succeeded.json").read_bytes()
    signature = (LOCALSTRIPE / "event.payment_intent.succeeded.stripe-signature.txt").read_text().strip()
    app.config["STRIPE_WEBHOOK_SECRET"] = "whsec_localtest123"

    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature})
    assert response.status_code == 400  # genuine, but captured long ago: outside the tolerance

    tampered = body.replace(b"4500", b"4501")
    assert client.post("/webhooks/stripe", data=tampered, content_type="application/json",
                       headers={"Stripe-Signature": signature}).status_code == 400


def test_failed_then_succeeded_out_of_order(client, db, paid_cart):
    failed = load("event.payment_intent.payment_failed.json")
    failed["id"] = "evt_failed"
    failed["data"]["object"]["metadata"] = {"cart_id": str(paid_cart.id)}

    send(client, succeeded_event(paid_cart))
    late_failure = send(client, failed)

    assert late_failure.status_code == 200
    [order] = orders(db)
    cart = db.session.get(Cart, paid_cart.id)
    assert cart.status == "CONVERTED" and cart.payment_error is None


def test_failed_payment_keeps_the_cart_with_the_reason(client, db, paid_cart):
    failed = load("event.payment_intent.payment_failed.json")
    failed["data"]["object"]["metadata"] = {"cart_id": str(paid_cart.id)}

    send(client, failed)

    cart = db.session.get(Cart, paid_cart.id)
    assert cart.status == "ACTIVE" and len(cart.lines) == 1
    assert "declined" in cart.payment_error.lower()
    assert orders(db) == []


def test_event_for_another_merchants_cart_is_ignored(client, db, paid_cart):
    event = succeeded_event(paid_cart)
    event["data"]["object"]["metadata"]["company_id"] = str(paid_cart.company_id + 1)

    response = send(client, event)

    assert response.status_code == 200
    assert orders(db) == [] and db.session.get(Cart, paid_cart.id).status == "ACTIVE"


def test_event_without_cart_is_accepted_and_ignored(client, db, paid_cart):
    event = load("event.payment_intent.succeeded.json")

    assert send(client, event).status_code == 200
    assert orders(db) == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"id": 5}', b"\xff\xfe"])
def test_malformed_bodies_answer_400(client, db, body):
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    assert response.status_code == 400


def test_oversized_body_answers_413(client, db):
    body = b"{" + b" " * (600 * 1024) + b"}"
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    assert response.status_code == 413


@pytest.mark.parametrize("fixture", ["event.checkout.session.completed.json",
                                     "event.checkout.session.completed.payment_mode.json"])
def test_hosted_checkout_session_completed_creates_the_order(client, db, paid_cart, fixture):
    event = load(fixture)
    event["data"]["object"]["metadata"] = {"cart_id": str(paid_cart.id)}
    amount = event["data"]["object"]["amount_total"]

    assert send(client, event).status_code == 200
    assert send(client, copy.deepcopy(event)).get_json()["outcome"] == "duplicate"

    [order] = orders(db)
    assert order.checkout_session_id == event["data"]["object"]["id"]
    assert order.amount_paid_cents == amount
    # The cart is $20.00; a session paid for another amount is kept for review, never lost.
    assert order.status == ("PAID" if amount == 2000 else "NEEDS_REVIEW")


def test_checkout_session_without_cart_id_is_refused(client, db, paid_cart):
    event = load("event.checkout.session.completed.json")
    assert send(client, event).status_code == 400
    assert db.session.execute(db.select(StripeEvent)).first() is None


def test_setup_mode_session_is_ignored(client, db, paid_cart):
    event = load("event.checkout.session.completed.setup_mode.json")
    assert send(client, event).status_code == 200
    assert orders(db) == []


def test_webhook_first_then_return_finds_the_same_order(client, db, paid_cart, localstripe):
    """The shopper's return arrives after the webhook made the order."""
    from storefront.cart.services import cart_info
    from storefront.payments import gateway

    intent = gateway.ensure_payment_intent(paid_cart, cart_info(paid_cart).subtotal_cents)
    event = succeeded_event(paid_cart)
    event["data"]["object"]["id"] = intent.id
    send(client, event)
    [order] = orders(db)

    client.set_cookie("sf_cart", paid_cart.token)
    response = client.get(f"/checkout/complete?payment_intent={intent.id}")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.token}")
    assert len(orders(db)) == 1
