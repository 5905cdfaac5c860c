"""The webhook trusts only Stripe's copy: a signed event for an intent Stripe never saw
succeed, for an object Stripe does not know, or with a body of the wrong shape makes no
order, and answers 400 (logged) rather than 500; only our own faults answer 5xx.

Intents live in localstripe; Checkout Sessions, and objects of a shape localstripe would
never store, are real payloads served at Stripe's retrieve URLs (``stripe_copies``).
"""
from __future__ import annotations

import json
import logging
import socket

import pytest
from factories import WEBHOOK_SECRET, sign_payload
from stripe_copies import real_object
from test_webhooks import (
    cart_metadata,
    events,
    intent_event,
    load,
    localstripe_intent,
    make_paid_cart,
    orders,
    send,
)

from storefront.cart.models import Cart
from storefront.payments import gateway

WEBHOOK_LOGGER = "storefront.payments.webhooks"


@pytest.fixture()
def paid_cart(db, company):
    return make_paid_cart(db, company)


def refused(caplog, event_id: str) -> list[str]:
    """The webhook's warnings that name ``event_id``."""
    return [r.getMessage() for r in caplog.records
            if r.name == WEBHOOK_LOGGER and r.levelno == logging.WARNING and event_id in r.getMessage()]


def stock(cart) -> int:
    return cart.lines[0].variant.stock


# ------------------------------------------------------------------ PaymentIntents, localstripe


def test_succeeded_event_for_an_unconfirmed_intent_makes_nothing(client, db, paid_cart, localstripe, smtp,
                                                                 run_jobs, caplog):
    """Correctly signed, but Stripe's copy says requires_payment_method: no order, no
    stock taken, no email, and the event is not left recorded."""
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart), card=None)
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)

    response = send(client, intent_event(intent_id, "evt_forged"))
    run_jobs()

    assert response.status_code == 400
    assert "not succeeded" in response.get_json()["error"]
    assert orders(db) == [] and events(db) == []
    assert stock(paid_cart) == 10 and db.session.get(Cart, paid_cart.id).status == "ACTIVE"
    assert smtp == []
    assert refused(caplog, "evt_forged") and "requires_payment_method" in refused(caplog, "evt_forged")[0]


def test_the_same_event_runs_again_once_stripe_says_succeeded(client, db, paid_cart, localstripe):
    """A 400 leaves no StripeEvent row, so a later delivery of that very event is examined
    afresh against Stripe's copy: after the shopper really pays, it makes the order once."""
    from test_checkout import card_token

    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart), card=None)
    event = intent_event(intent_id, "evt_early")

    assert send(client, event).status_code == 400
    gateway.confirm_with_card(intent_id, card_token(localstripe))
    again = send(client, event)
    replay = send(client, event)

    assert again.status_code == 200 and again.get_json()["outcome"] == "processed"
    assert replay.get_json()["outcome"] == "duplicate"
    [order] = orders(db)
    assert order.payment_intent_id == intent_id and order.status == "PAID" and stock(paid_cart) == 8


def test_event_for_an_intent_stripe_does_not_know_is_400(client, db, paid_cart, localstripe, caplog):
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)
    event = intent_event("pi_000000000000000000000000", "evt_unknown")
    event["data"]["object"]["metadata"] = cart_metadata(paid_cart)  # the body's claim is not enough

    response = send(client, event)

    assert response.status_code == 400 and "Stripe has no pi_000000000000000000000000" in response.get_json()["error"]
    assert orders(db) == [] and events(db) == [] and stock(paid_cart) == 10
    assert refused(caplog, "evt_unknown")


def test_the_order_is_made_from_stripes_copy_not_the_body(client, db, paid_cart, localstripe, company):
    """The body names another cart, another amount and currency: Stripe's copy wins."""
    intent_id = localstripe_intent(localstripe, 1500, cart_metadata(paid_cart))
    event = intent_event(intent_id)
    event["data"]["object"].update(amount=2000, amount_received=2000, currency="eur",
                                   metadata={"cart_id": "999999", "company_id": str(company.id)})

    response = send(client, event)

    assert response.status_code == 200
    [order] = orders(db)
    assert order.cart_id == paid_cart.id and order.amount_paid_cents == 1500 and order.currency == "USD"
    assert order.status == "NEEDS_REVIEW"  # underpaid by Stripe's own account of it


def _body(mutate):
    def build(intent_id):
        event = intent_event(intent_id, "evt_malformed")
        mutate(event)
        return event
    return build


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


# The defects found by the hostile pass, as signed bodies about a real, succeeded intent.
# Fields the handler never reads from the body (amount, currency, metadata) cannot hurt:
# the order comes from Stripe's copy. Fields it does read (ids, type, data.object) answer 400.
MALFORMED_BODIES = {
    "missing currency": (_body(lambda e: e["data"]["object"].pop("currency")), 200),
    "missing amount": (_body(lambda e: e["data"]["object"].pop("amount")), 200),
    "text amount": (_body(lambda e: e["data"]["object"].update(amount="2000")), 200),
    "list metadata": (_body(lambda e: e["data"]["object"].update(metadata=["cart_id", "1"])), 200),
    "numeric currency": (_body(lambda e: e["data"]["object"].update(currency=840)), 200),
    "huge event id": (_body(lambda e: e.update(id="evt_" + "9" * 100_000)), 400),
    "huge object id": (_body(lambda e: e["data"]["object"].update(id="pi_" + "9" * 300)), 400),
    "numeric event id": (_body(lambda e: e.update(id=2**63)), 400),
    "event id with NUL": (_body(lambda e: e.update(id="evt_\x00")), 400),
    "object id with a slash": (_body(lambda e: e["data"]["object"].update(id="pi_1/../../v1/charges")), 400),
    "data is a list": (_body(lambda e: e.update(data=[1])), 400),
    "type is a number": (_body(lambda e: e.update(type=5)), 400),
    "deep nesting": (_body(lambda e: e["data"]["object"].update(extra=_deep(40))), 400),
}


@pytest.mark.parametrize("name", list(MALFORMED_BODIES))
def test_malformed_signed_bodies_never_answer_5xx(client, db, paid_cart, localstripe, caplog, name):
    build, expected = MALFORMED_BODIES[name]
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)

    response = send(client, build(intent_id))

    assert response.status_code == expected, response.get_data(as_text=True)
    if expected == 400:
        assert orders(db) == [] and events(db) == []
        assert any(r.name == WEBHOOK_LOGGER and r.levelno == logging.WARNING for r in caplog.records)
    else:
        [order] = orders(db)
        assert order.amount_paid_cents == 2000 and order.currency == "USD" and order.status == "PAID"


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # json.loads raises RecursionError on this
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_\xff"}}}',
    b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1", "x": NaN}}, "y": 1e999}',
    b'{"id": "evt_1", "amount": ' + b"9" * 5000 + b"}",  # beyond int's digit limit
], ids=["recursion", "not-utf8", "nan", "huge-int"])
def test_signed_unparseable_bodies_answer_400(client, db, body):
    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})

    assert response.status_code == 400
    assert events(db) == []


# ------------------------------------------------------- Stripe's copy of the wrong shape

def _intent(cart, **changes) -> dict:
    """The real succeeded PaymentIntent payload as Stripe's copy, made for ``cart``."""
    return real_object("event.payment_intent.succeeded.json", metadata=cart_metadata(cart)) | changes


MALFORMED_COPIES = {
    "text amount": {"amount": "2000", "amount_received": None},
    "text amount_received": {"amount_received": "2000"},
    "negative amount": {"amount": -1, "amount_received": None},
    "amount beyond 32 bits": {"amount": 2**31, "amount_received": 2**31},
    "boolean amount": {"amount": True, "amount_received": None},
    "float amount": {"amount": 20.0, "amount_received": None},
    "missing amount": {"amount": None, "amount_received": None},
    "missing currency": {"currency": None},
    "numeric currency": {"currency": 840},
    "long currency": {"currency": "usdollar"},
    "list metadata": {"metadata": ["cart_id", "1"]},
    "nested metadata": {"metadata": {"cart_id": {"id": 1}}},
    "cart_id in superscript digits": {"metadata": {"cart_id": "²"}},
    "cart_id of 2**31": {"metadata": {"cart_id": str(2**31)}},
    "cart_id with NUL": {"metadata": {"cart_id": "1\x00"}},
    "company_id as text": {"metadata": {"cart_id": "1", "company_id": "acme"}},
    "status is a number": {"status": 1},
}


@pytest.mark.parametrize("name", list(MALFORMED_COPIES))
def test_malformed_stripe_copies_answer_400_logged_and_make_nothing(client, db, paid_cart, stripe_copies,
                                                                    caplog, name):
    intent = stripe_copies.put(_intent(paid_cart, **MALFORMED_COPIES[name]))
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)

    response = send(client, intent_event(intent["id"], "evt_bad_copy"))

    assert response.status_code == 400, response.get_data(as_text=True)
    assert orders(db) == [] and events(db) == [] and stock(paid_cart) == 10
    [warning] = refused(caplog, "evt_bad_copy")
    assert response.get_json()["error"] in warning


def test_well_formed_copy_from_the_same_server_makes_the_order(client, db, paid_cart, stripe_copies):
    """The control for the test above: the untouched payload is accepted."""
    intent = stripe_copies.put(_intent(paid_cart))

    response = send(client, intent_event(intent["id"]))

    assert response.status_code == 200 and response.get_json()["outcome"] == "processed"
    [order] = orders(db)
    assert order.amount_paid_cents == 2000 and order.status == "PAID"


def test_a_copy_for_another_object_is_refused(client, db, paid_cart, stripe_copies):
    stripe_copies.objects["payment_intent", "pi_asked"] = _intent(paid_cart)  # its id is pi_000…

    assert send(client, intent_event("pi_asked")).status_code == 400
    assert orders(db) == []


# ----------------------------------------------------------------- Checkout Sessions

def test_paid_session_that_stripe_knows_makes_one_order(client, db, paid_cart, stripe_copies, smtp, run_jobs):
    session = stripe_copies.put(real_object("event.checkout.session.completed.json", amount_total=2000,
                                            amount_subtotal=2000, metadata={"cart_id": str(paid_cart.id)}))
    event = load("event.checkout.session.completed.json")

    first, replay = send(client, event), send(client, event)
    run_jobs()

    assert first.get_json()["outcome"] == "processed" and replay.get_json()["outcome"] == "duplicate"
    [order] = orders(db)
    assert order.checkout_session_id == session["id"] and order.status == "PAID"
    assert order.amount_paid_cents == 2000 and stock(paid_cart) == 8
    assert len(smtp) == 1


def test_session_that_stripe_does_not_know_makes_no_order(client, db, paid_cart, stripe_copies, caplog):
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)
    event = load("event.checkout.session.completed.json")
    event["id"] = "evt_unknown_session"
    event["data"]["object"]["metadata"] = {"cart_id": str(paid_cart.id)}

    response = send(client, event)

    assert response.status_code == 400
    assert orders(db) == [] and events(db) == [] and stock(paid_cart) == 10
    assert refused(caplog, "evt_unknown_session")


def test_session_paid_in_the_body_but_unpaid_at_stripe_makes_no_order(client, db, paid_cart, stripe_copies):
    """Stripe's own open, unpaid session (openapi fixture); the signed body says paid."""
    session = stripe_copies.put(real_object("object.checkout.session.json", "openapi-fixtures3",
                                            metadata={"cart_id": str(paid_cart.id)}))
    event = load("event.checkout.session.completed.json")
    event["data"]["object"].update(id=session["id"], metadata={"cart_id": str(paid_cart.id)})
    assert event["data"]["object"]["payment_status"] == "paid" and session["payment_status"] == "unpaid"

    response = send(client, event)

    # checkout.session.completed with an unpaid session is normal for delayed payment
    # methods: nothing to do yet, and the order waits for async_payment_succeeded.
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert orders(db) == [] and stock(paid_cart) == 10


def test_async_payment_succeeded_that_stripe_contradicts_is_400(client, db, paid_cart, stripe_copies):
    session = stripe_copies.put(real_object("object.checkout.session.json", "openapi-fixtures3",
                                            metadata={"cart_id": str(paid_cart.id)}))
    event = load("event.checkout.session.completed.json")
    event["type"] = "checkout.session.async_payment_succeeded"
    event["data"]["object"]["id"] = session["id"]

    assert send(client, event).status_code == 400
    assert orders(db) == [] and events(db) == []

    stripe_copies.put({**session, "payment_status": "paid", "status": "complete", "amount_total": 2000,
                       "currency": "usd"})
    assert send(client, event).get_json()["outcome"] == "processed"  # the retry, once paid
    assert len(orders(db)) == 1


@pytest.mark.parametrize("changes", [
    {"amount_total": None}, {"currency": None}, {"amount_total": "3000"}, {"metadata": ["x"]},
    {"payment_intent": 12}, {"mode": None},
], ids=["no-amount", "no-currency", "text-amount", "list-metadata", "numeric-intent", "no-mode"])
def test_malformed_session_copies_answer_400(client, db, paid_cart, stripe_copies, changes):
    stripe_copies.put(real_object("event.checkout.session.completed.json",
                                  metadata={"cart_id": str(paid_cart.id)}) | changes)

    response = send(client, load("event.checkout.session.completed.json"))

    assert response.status_code == 400
    assert orders(db) == [] and events(db) == []


# ------------------------------------------------------------- our own faults: 5xx

def test_stripe_unreachable_answers_503_and_the_retry_runs(app, client, db, paid_cart, localstripe):
    """Stripe is down: our fault, so 503 (Stripe retries) and nothing is recorded; the
    retry, once Stripe answers, makes the order."""
    intent_id = localstripe_intent(localstripe, 2000, cart_metadata(paid_cart))
    event = intent_event(intent_id)
    with socket.socket() as closed:  # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"

    down = send(client, event)

    assert down.status_code == 503 and orders(db) == [] and events(db) == []
    app.config["STRIPE_API_BASE"] = localstripe
    assert send(client, event).get_json()["outcome"] == "processed"
    assert len(orders(db)) == 1


def test_unhandled_event_types_are_recorded_and_ignored(client, db):
    event = load("event.charge.succeeded.json")

    first, replay = send(client, event), send(client, event)

    assert first.get_json()["outcome"] == "ignored" and replay.get_json()["outcome"] == "duplicate"
    assert len(events(db)) == 1


def test_log_lines_carry_no_raw_input(client, db, caplog):
    """An unreadable id is not echoed into the log (it may be huge or hold control characters)."""
    caplog.set_level(logging.WARNING, WEBHOOK_LOGGER)
    body = json.dumps({"id": "evt_\n" + "x" * 5000, "type": "payment_intent.succeeded",
                       "data": {"object": {}}}).encode()

    response = client.post("/webhooks/stripe", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})

    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == WEBHOOK_LOGGER]
    assert "\n" not in record.getMessage() and len(record.getMessage()) < 200
