"""Selling a subscription through checkout, on PostgreSQL, Redis and localstripe: paying a
cart with a subscribe-and-save line saves the card (test mode: a SetupIntent with
usage=off_session, the PaymentMethod attached to a Stripe Customer), the order starts
exactly one subscription on that card with its first period paid, and the renewal is then
charged off-session by the billing engine."""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from billing_kit import DECLINING_CARD, GOOD_CARD, intents_for, make_plan
from factories import make_page, make_product

from storefront.billing import engine
from storefront.billing.models import Invoice, Subscription
from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.payments import gateway, saved_cards
from storefront.payments.services import complete_intent

ADDRESS = {"email": "ada@example.com", "phone": "", "first_name": "Ada", "last_name": "Lovelace",
           "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701", "country": "US"}


@pytest.fixture()
def subscriber(client, db, company):
    coffee = make_product(company, "House Coffee", price_cents=2000, stock=50)
    plan = make_plan(company, coffee)
    make_page(company, [coffee])
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/cart/add", data={"csrf_token": csrf, "variant_id": coffee.variants[0].id, "quantity": 2,
                                   "plan_id": plan.id})
    client.get("/checkout")
    assert client.post("/checkout", data={"csrf_token": csrf, **ADDRESS}).status_code == 303
    return {"csrf": csrf, "plan": plan, "coffee": coffee}


def pay(client, subscriber, **form):
    return client.post("/checkout/pay", data={"csrf_token": subscriber["csrf"], **form},
                       headers={"Accept": "application/json"})


def confirm_setup(base: str, client_secret: str, number: str = GOOD_CARD) -> str:
    """Confirm the SetupIntent with a card the way localstripe's Stripe.js does
    (confirmCardSetup): the card goes to Stripe, never to our server. Returns its id."""
    setup_id = client_secret.split("_secret_")[0]
    body = json.dumps({"key": "pk_test_localstripe", "client_secret": client_secret, "use_stripe_sdk": True,
                       "payment_method_data": {"type": "card", "card": {
                           "number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}}}).encode()
    request = urllib.request.Request(f"{base}/v1/setup_intents/{setup_id}/confirm", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["status"] == "succeeded"
    return setup_id


def card_token(base: str, number: str = GOOD_CARD) -> str:
    """Tokenise a card at localstripe as Stripe.js does for a one-time payment."""
    body = urllib.parse.urlencode({"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
                                   "card[cvc]": "123", "key": "pk_test_localstripe"}).encode()
    with urllib.request.urlopen(base + "/v1/tokens", data=body, timeout=5) as response:
        return json.load(response)["card"]["id"]


def subscribe_through_checkout(client, subscriber, localstripe, number=GOOD_CARD):
    first = pay(client, subscriber)
    assert first.status_code == 200 and first.get_json()["status"] == "requires_setup"
    setup_id = confirm_setup(localstripe, first.get_json()["client_secret"], number)
    assert first.get_json()["setup_intent"] == setup_id
    return pay(client, subscriber, setup_intent=setup_id)


def count(db, model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()


def test_paying_saves_the_card_and_starts_exactly_one_subscription(app, client, db, subscriber, localstripe, smtp,
                                                                  run_jobs):
    response = subscribe_through_checkout(client, subscriber, localstripe)
    assert response.status_code == 200 and response.get_json()["status"] == "succeeded"

    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.total_cents == 3600 and order.payment_method_id.startswith("pm_")
    assert order.stripe_customer_id.startswith("cus_")
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    assert (sub.status, sub.plan_id, sub.quantity, sub.first_order_id) == ("ACTIVE", subscriber["plan"].id, 2, order.id)
    assert (sub.payment_method_id, sub.stripe_customer_id) == (order.payment_method_id, order.stripe_customer_id)
    assert sub.current_period_end == sub.next_billing_at > sub.current_period_start
    assert sub.current_period_start == order.created_at and sub.billing_country == "US"
    # The card is saved for off-session use on that Customer.
    method = gateway.client().v1.payment_methods.retrieve(sub.payment_method_id).to_dict()
    assert method["customer"] == sub.stripe_customer_id
    intent = gateway.retrieve_payment_intent(order.payment_intent_id).to_dict()
    assert (intent["status"], intent["customer"], intent["payment_method"]) == (
        "succeeded", sub.stripe_customer_id, sub.payment_method_id)
    # The first period is paid by this order.
    invoice = db.session.execute(db.select(Invoice)).scalar_one()
    assert (invoice.status, invoice.amount_cents, invoice.order_id, invoice.period_start, invoice.period_end) == (
        "PAID", 3600, order.id, sub.current_period_start, sub.current_period_end)

    # The shopper's return, the webhook's copy and a replayed Pay make nothing more.
    assert complete_intent(gateway.retrieve_payment_intent(order.payment_intent_id)).id == order.id
    back = client.get(f"/checkout/complete?payment_intent={order.payment_intent_id}")
    assert back.status_code == 303 and order.token in back.headers["Location"]
    assert pay(client, subscriber).status_code == 409
    assert (count(db, Order), count(db, Subscription), count(db, Invoice)) == (1, 1, 1)

    # Time passes: the engine bills the next period off-session on the saved card.
    run_jobs()
    due = sub.next_billing_at
    assert engine.bill_due_subscriptions(now=due + timedelta(minutes=1)) == 1
    run_jobs()
    renewal = db.session.execute(db.select(Invoice).filter_by(period_start=due)).scalar_one()
    assert (renewal.status, renewal.amount_cents) == ("PAID", 3600)
    [charge] = intents_for(f"invoice-{renewal.id}-", sub.stripe_customer_id)
    assert (charge["payment_method"], charge["amount"], charge["status"]) == (sub.payment_method_id, 3600, "succeeded")
    renewal_order = db.session.get(Order, renewal.order_id)
    assert renewal_order.source_type == "SUBSCRIPTION" and renewal_order.landing_page_id == order.landing_page_id
    assert count(db, Subscription) == 1


def test_a_one_time_cart_keeps_no_card_and_starts_nothing(client, db, subscriber, localstripe):
    coffee = subscriber["coffee"]
    client.post("/cart/add", data={"csrf_token": subscriber["csrf"], "variant_id": coffee.variants[0].id,
                                   "plan_id": ""})
    response = pay(client, subscriber, card_id=card_token(localstripe))
    assert response.get_json()["status"] == "succeeded"
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.payment_method_id is None and order.total_cents == 6000  # 3 at the one-time 20.00
    assert count(db, Subscription) == 0


def test_a_declined_card_starts_nothing_and_keeps_the_cart(client, db, subscriber, localstripe):
    response = subscribe_through_checkout(client, subscriber, localstripe, DECLINING_CARD)
    assert response.status_code == 402
    assert (count(db, Order), count(db, Subscription)) == (0, 0)
    assert db.session.execute(db.select(Cart)).scalar_one().status == "ACTIVE"


def test_another_carts_unconfirmed_or_malformed_setup_intent_is_refused(app, client, db, company, subscriber,
                                                                     localstripe):
    customer = saved_cards.create_customer("eve@example.com", company_id=company.id, idempotency_key="eve")
    foreign = saved_cards.create_setup_intent(customer, {"cart_id": "999999"})
    confirm_setup(localstripe, foreign.client_secret)
    assert pay(client, subscriber, setup_intent=foreign.id).status_code == 422
    for bad in ("seti_", "pi_123", "seti_" + "a" * 80, "seti_nope"):
        assert pay(client, subscriber, setup_intent=bad).status_code == 422, bad
    assert pay(client, subscriber, setup_intent="seti_abc\x00").status_code == 400  # the input boundary
    unconfirmed = pay(client, subscriber).get_json()["setup_intent"]
    assert pay(client, subscriber, setup_intent=unconfirmed).status_code == 402
    assert (count(db, Order), count(db, Subscription)) == (0, 0)


def test_the_webhook_first_starts_the_subscription_once_and_the_return_finds_it(client, db, subscriber, localstripe,
                                                                               monkeypatch):
    """The shopper's browser stops after the card is charged: the webhook makes the order,
    keeps the card from Stripe's copy and starts the subscription; the return later, and a
    replayed event, add nothing."""
    import json as json_module

    from factories import WEBHOOK_SECRET, sign_payload

    from storefront.payments import services

    monkeypatch.setattr(services, "complete_intent", lambda intent, info=None: None)  # Pay stops after charging
    first = pay(client, subscriber)
    setup_id = confirm_setup(localstripe, first.get_json()["client_secret"])
    pay(client, subscriber, setup_intent=setup_id)
    monkeypatch.undo()
    assert count(db, Order) == 0
    intent_id = db.session.execute(db.select(Cart.payment_intent_id)).scalar_one()
    assert gateway.retrieve_payment_intent(intent_id).status == "succeeded"

    event = {"id": "evt_selling_1", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": {"id": intent_id, "object": "payment_intent"}}}
    body = json_module.dumps(event).encode()
    for _ in range(2):  # delivered, then replayed
        answer = client.post("/webhooks/stripe", data=body, content_type="application/json",
                             headers={"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)})
        assert answer.status_code == 200
    order = db.session.execute(db.select(Order)).scalar_one()
    sub = db.session.execute(db.select(Subscription)).scalar_one()
    assert (sub.first_order_id, sub.payment_method_id) == (order.id, order.payment_method_id)
    assert order.payment_method_id.startswith("pm_")
    back = client.get(f"/checkout/complete?payment_intent={intent_id}")
    assert back.status_code == 303 and order.token in back.headers["Location"]
    assert (count(db, Order), count(db, Subscription), count(db, Invoice)) == (1, 1, 1)
