"""POST /webhooks/stripe with Stripe's real payloads (shared/data/stripe), signed in the test
with the webhook secret: bad signatures and timestamps, replays, events out of order, hosted
Checkout, and the shopper's return racing the webhook.

The handler trusts only Stripe's copy of the object: the intents here are real ones in
localstripe (the event body is the real payload with the intent's id), and the Checkout
Sessions are real session payloads served at Stripe's retrieve URL (``stripe_copies``).
"""
from __future__ import annotations

import copy
import json
import time

import pytest
from factories import STRIPE_DIR, WEBHOOK_SECRET, make_product, sign_payload
from stripe_copies import real_object
from test_checkout import card_token

from storefront.cart.models import Cart, LineItem
from storefront.checkout.models import Order
from storefront.payments import gateway
from storefront.payments.models import StripeEvent

RUBY_MOCK = STRIPE_DIR / "stripe-ruby-mock"
LOCALSTRIPE = STRIPE_DIR / "localstripe-generated"


def load(name: str, folder=RUBY_MOCK) -> dict:
    return json.loads((folder / name).read_text())


def send(client, event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    body = json.dumps(event).encode()
    return client.post("/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": sign_payload(body, secret, timestamp)})


def make_paid_cart(db, company) -> Cart:
    """A cart of 2 × $10.00 = $20.00, matching the 2000-cent real payment_intent payload."""
    product = make_product(company, "Tote Bag", price_cents=1000, stock=10)
    cart = Cart(token="t" * 43, company_id=company.id, currency="USD", source_type="DIRECT",
                checkout_fields={"email": "buyer@example.com", "first_name": "Bo"})
    db.session.add(cart)
    db.session.flush()
    db.session.add(LineItem(cart_id=cart.id, variant_id=product.variants[0].id, quantity=2, unit_price_cents=1000))
    db.session.commit()
    return cart


@pytest.fixture()
def paid_cart(db, company):
    return make_paid_cart(db, company)


def localstripe_intent(localstripe, amount: int = 2000, metadata: dict | None = None,
                       card: str | None = "4242424242424242") -> str:
    """A PaymentIntent created in localstripe with ``metadata``, confirmed with ``card``
    unless it is None (a declined card leaves it requires_payment_method); returns its id."""
    intent = gateway.client().v1.payment_intents.create(params={
        "amount": amount, "currency": "usd", "payment_method_types": ["card"], "metadata": metadata or {}})
    if card is not None:
        try:
            gateway.confirm_with_card(intent.id, card_token(localstripe, card))
        except gateway.PaymentError:
            pass
    return intent.id


def cart_metadata(cart) -> dict:
    """The metadata ensure_payment_intent gives a cart's intent."""
    return {"cart_id": str(cart.id), "company_id": str(cart.company_id)}


def intent_event(intent_id: str, event_id: str = "evt_succeeded_1",
                 name: str = "event.payment_intent.succeeded.json") -> dict:
    """The real event envelope ``name`` about the intent ``intent_id`` (its body otherwise
    as Stripe's fixture wrote it: metadata empty, its own amount)."""
    event = load(name)
    event["id"] = event_id
    event["data"]["object"]["id"] = intent_id
    return event


def orders(db):
    return db.session.execute(db.select(Order)).scalars().all()


def events(db):
    return db.session.execute(db.select(StripeEvent)).scalars().all()


def test_payment_intent_succeeded_creates_the_order_once(client, db, paid_cart, localstripe, smtp, run_jobs):
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))
    event = intent_event(intent_id)

    first = send(client, event)
    replay = send(client, event)
    run_jobs()

    assert first.status_code == 200 and first.get_json()["outcome"] == "processed"
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    [order] = orders(db)
    assert order.amount_paid_cents == 2000 and order.total_cents == 2000 and order.status == "PAID"
    assert order.payment_intent_id == intent_id
    assert order.email == "buyer@example.com"
    assert db.session.get(Cart, paid_cart.id).status == "CONVERTED"
    assert paid_cart.lines[0].variant.stock == 8
    assert len(smtp) == 1 and smtp[0].rcpt_tos == ["buyer@example.com"]


def test_same_payment_in_a_new_event_id_still_makes_one_order(client, db, paid_cart, localstripe):
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))
    send(client, intent_event(intent_id, "evt_a"))
    response = send(client, intent_event(intent_id, "evt_b"))

    assert response.status_code == 200
    assert len(orders(db)) == 1
    assert len(events(db)) == 2


@pytest.mark.parametrize("signature", ["", "t=1,v1=deadbeef", "garbage"])
def test_bad_signature_answers_400_and_changes_nothing(client, db, paid_cart, signature):
    body = json.dumps(intent_event("pi_000000000000000000000000")).encode()

    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature})

    assert response.status_code == 400
    assert orders(db) == [] and events(db) == []


def test_wrong_secret_is_refused(client, db, paid_cart, localstripe):
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))

    assert send(client, intent_event(intent_id), secret="whsec_someone_else").status_code == 400
    assert orders(db) == [] and events(db) == []


@pytest.mark.parametrize("offset", [-3600, 3600, -330, 330])
def test_timestamps_beyond_the_tolerance_either_way_are_refused(client, db, paid_cart, localstripe, offset):
    """Stripe's tolerance is 300 s; a signature from an hour ago, or dated an hour ahead
    (replayable for that whole hour), is refused, whatever the event says."""
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))

    response = send(client, intent_event(intent_id), timestamp=int(time.time()) + offset)

    assert response.status_code == 400
    assert orders(db) == [] and events(db) == []


@pytest.mark.parametrize("offset", [-240, 240])
def test_timestamps_within_the_tolerance_either_way_are_accepted(client, db, paid_cart, localstripe, offset):
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))

    response = send(client, intent_event(intent_id), timestamp=int(time.time()) + offset)

    assert response.status_code == 200 and response.get_json()["outcome"] == "processed"
    assert len(orders(db)) == 1


def test_signature_tolerance_boundary(app):
    """verify_signature with an injected clock: 300 s either side passes, 301 s fails."""
    body = json.dumps({"id": "evt_x"})
    header = sign_payload(body.encode(), WEBHOOK_SECRET, 1_700_000_000)

    for now in (1_700_000_000 - 300, 1_700_000_000, 1_700_000_000 + 300):
        assert gateway.verify_signature(body, header, now=now) == 1_700_000_000
    for now in (1_700_000_000 - 301, 1_700_000_000 + 301):
        with pytest.raises(gateway.SignatureError):
            gateway.verify_signature(body, header, now=now)


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


def test_failed_then_succeeded_out_of_order(client, db, paid_cart, localstripe):
    """A failure event arriving after success: Stripe's copy says succeeded, so nothing changes."""
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))

    send(client, intent_event(intent_id))
    late_failure = send(client, intent_event(intent_id, "evt_failed", "event.payment_intent.payment_failed.json"))

    assert late_failure.status_code == 200 and late_failure.get_json()["outcome"] == "ignored"
    [order] = orders(db)
    cart = db.session.get(Cart, paid_cart.id)
    assert cart.status == "CONVERTED" and cart.payment_error is None


def test_failed_payment_keeps_the_cart_with_the_reason(client, db, paid_cart, localstripe):
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart), card="4000000000000341")

    response = send(client, intent_event(intent_id, "evt_failed", "event.payment_intent.payment_failed.json"))

    assert response.status_code == 200 and response.get_json()["outcome"] == "processed"
    cart = db.session.get(Cart, paid_cart.id)
    assert cart.status == "ACTIVE" and len(cart.lines) == 1
    assert "declined" in cart.payment_error.lower()
    assert orders(db) == []


def test_event_for_another_merchants_cart_is_ignored(client, db, paid_cart, localstripe):
    metadata = {"cart_id": str(paid_cart.id), "company_id": str(paid_cart.company_id + 1)}
    intent_id = localstripe_intent(localstripe, 2000, metadata)

    response = send(client, intent_event(intent_id))

    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert orders(db) == [] and db.session.get(Cart, paid_cart.id).status == "ACTIVE"


def test_event_without_cart_is_accepted_and_ignored(client, db, paid_cart, localstripe):
    """Another app on the same Stripe account: its intents carry no cart_id."""
    intent_id = localstripe_intent(localstripe, 2000, {"order_id": "1001"})

    response = send(client, intent_event(intent_id))

    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert orders(db) == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"id": 5}', b"\xff\xfe"])
def test_malformed_bodies_answer_400(client, db, body):
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    assert response.status_code == 400
    assert events(db) == []


def test_oversized_body_answers_413(client, db):
    body = b"{" + b" " * (600 * 1024) + b"}"
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
    assert response.status_code == 413


@pytest.mark.parametrize("fixture", ["event.checkout.session.completed.json",
                                     "event.checkout.session.completed.payment_mode.json"])
def test_hosted_checkout_session_completed_creates_the_order(client, db, paid_cart, stripe_copies, fixture):
    """Stripe's copy of the session (the real payload, created with our cart_id) is paid."""
    event = load(fixture)
    session = stripe_copies.put(real_object(fixture, metadata={"cart_id": str(paid_cart.id)}))
    amount = session["amount_total"]

    assert send(client, event).status_code == 200
    assert send(client, copy.deepcopy(event)).get_json()["outcome"] == "duplicate"

    [order] = orders(db)
    assert order.checkout_session_id == session["id"]
    assert order.payment_intent_id == session["payment_intent"]
    assert order.amount_paid_cents == amount
    # The cart is $20.00; a session paid for another amount is kept for review, never lost.
    assert order.status == ("PAID" if amount == 2000 else "NEEDS_REVIEW")
    assert stripe_copies.requests == [f"/v1/checkout/sessions/{session['id']}"]


def test_checkout_session_without_cart_id_is_not_ours(client, db, paid_cart, stripe_copies):
    """A paid session of another integration on the account (a Payment Link): ignored, so
    Stripe does not retry it for days."""
    stripe_copies.put(real_object("event.checkout.session.completed.json"))

    response = send(client, load("event.checkout.session.completed.json"))

    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert orders(db) == []


def test_setup_mode_session_is_ignored(client, db, paid_cart, stripe_copies):
    stripe_copies.put(real_object("event.checkout.session.completed.setup_mode.json",
                                  metadata={"cart_id": str(paid_cart.id)}))

    response = send(client, load("event.checkout.session.completed.setup_mode.json"))

    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert orders(db) == []


def test_webhook_first_then_return_finds_the_same_order(client, db, paid_cart, localstripe):
    """The shopper's return arrives after the webhook made the order."""
    from storefront.cart.services import cart_info

    intent = gateway.ensure_payment_intent(paid_cart, cart_info(paid_cart).subtotal_cents)
    gateway.confirm_with_card(intent.id, card_token(localstripe))
    send(client, intent_event(intent.id))
    [order] = orders(db)

    client.set_cookie("sf_cart", paid_cart.token)
    response = client.get(f"/checkout/complete?payment_intent={intent.id}")

    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.token}")
    assert len(orders(db)) == 1
