"""The one-click post-purchase upsell on PostgreSQL, Redis and localstripe: after an order
that kept the card, one click charges it off-session once (a double click, two threads,
a crash between the charge and the commit), makes one linked order with the first
order's attribution and the source UPSELL; a card that asks for authentication is
confirmed by the shopper on the page; another order's token, a stale or tampered offer
and an order without a kept card are refused."""
from __future__ import annotations

import json
import re
import threading
import urllib.request

import pytest
from billing_kit import GOOD_CARD, save_card
from factories import make_product

from storefront.billing import upsell
from storefront.billing.upsell_models import UpsellOffer, UpsellPurchase
from storefront.catalog.models import Variant
from storefront.checkout.models import Customer, Order
from storefront.extensions import db as _db
from storefront.payments import gateway, saved_cards
from storefront.types import new_token

HX = {"HX-Request": "true"}
AUTH_CARD = "4000002500003155"  # localstripe: off-session charges answer requires_action


def make_order(company, card=GOOD_CARD, keep=True, email="ada@example.com") -> Order:
    """A paid order whose shopper kept ``card`` on a Stripe Customer (as checkout leaves it)."""
    customer = Customer(company_id=company.id, email=email, first_name="Ada")
    _db.session.add(customer)
    _db.session.commit()
    stripe_customer = saved_cards.create_customer(customer.email, company_id=company.id, idempotency_key=new_token())
    if card == AUTH_CARD:
        # Saved earlier; now the bank asks for authentication on every charge (localstripe
        # would ask already when saving it through a SetupIntent, so it is attached directly).
        method = gateway.client().v1.payment_methods.create(params={
            "type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}).id
        saved_cards.attach_payment_method(method, stripe_customer)
    else:
        method = save_card(stripe_customer, card)
    order = Order(company_id=company.id, number=new_token()[:10], token=new_token(), customer_id=customer.id, email=customer.email,
                  shipping_name="Ada Lovelace", shipping_address={"city": "Austin", "country": "US"}, currency="USD",
                  subtotal_cents=3600, total_cents=3600, amount_paid_cents=3600, source_type="LANDING_PAGE",
                  utm_source="newsletter", utm_campaign="june",
                  stripe_customer_id=stripe_customer if keep else None, payment_method_id=method if keep else None)
    _db.session.add(order)
    _db.session.commit()
    return order


@pytest.fixture()
def offered(db, company, localstripe):
    mug = make_product(company, "Travel Mug", price_cents=1200, stock=5)
    db.session.add(UpsellOffer(company_id=company.id, variant_id=mug.variants[0].id, headline="Keep it hot"))
    db.session.commit()
    return mug.variants[0]


def csrf(client, order) -> str:
    html = client.get(f"/orders/{order.token}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def click(client, order, variant_id, token, headers=None):
    return client.post(f"/orders/{order.token}/upsell", data={"csrf_token": token, "variant": variant_id},
                       headers=headers or {})


def charges_for(order) -> list[dict]:
    found = []
    for intent in gateway.client().v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
        data = intent.to_dict()
        if data.get("customer") == order.stripe_customer_id:
            found.append(data)
    return found


def test_the_confirmation_offers_the_product_and_one_click_charges_once(app, client, db, company, offered, smtp,
                                                                       run_jobs):
    order = make_order(company)
    page = client.get(f"/orders/{order.token}").get_data(as_text=True)
    assert "Keep it hot" in page and "Travel Mug" in page and "Add to my order: $12.00" in page
    token = csrf(client, order)

    first = click(client, order, offered.id, token, HX)
    second = click(client, order, offered.id, token, HX)  # the double click
    assert first.status_code == 200 and "Added to your order" in first.get_data(as_text=True)
    assert second.status_code == 200 and "Added to your order" in second.get_data(as_text=True)

    [charge] = charges_for(order)
    assert (charge["amount"], charge["status"], charge["payment_method"]) == (1200, "succeeded", order.payment_method_id)
    purchase = db.session.execute(db.select(UpsellPurchase)).scalar_one()
    linked = db.session.get(Order, purchase.upsell_order_id)
    assert (purchase.status, purchase.payment_intent_id) == ("SUCCEEDED", charge["id"])
    assert (linked.source_type, linked.total_cents, linked.status, linked.origin_key) == (
        "UPSELL", 1200, "PAID", f"upsell-order-{order.id}")
    assert (linked.utm_source, linked.utm_campaign, linked.customer_id) == ("newsletter", "june", order.customer_id)
    assert [(line.product_title, line.quantity) for line in linked.lines] == [("Travel Mug", 1)]
    assert db.session.get(Variant, offered.id).stock == 4
    run_jobs()
    # The linked order's confirmation, once (the queue may hold other tests' leftovers).
    mine = [m for m in smtp if f"order #{linked.number} confirmed".encode() in m.content]
    assert [m.rcpt_tos for m in mine] == [["ada@example.com"]]
    # The upsell's own confirmation page offers nothing more; the first one says it is done.
    assert "Add to my order" not in client.get(f"/orders/{linked.token}").get_data(as_text=True)
    assert "Added to your order" in client.get(f"/orders/{order.token}").get_data(as_text=True)


def test_no_js_click_answers_303_with_a_flash(client, db, company, offered):
    order = make_order(company)
    response = click(client, order, offered.id, csrf(client, order))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.token}#upsell")
    assert "Added to your order" in client.get(f"/orders/{order.token}").get_data(as_text=True)
    assert len(charges_for(order)) == 1


def test_concurrent_clicks_charge_once(app, db, company, offered):
    order = make_order(company)
    order_id = order.id
    results, barrier = [], threading.Barrier(4)

    def one_click():
        with app.app_context():
            barrier.wait()
            mine = _db.session.get(Order, order_id)
            purchase = upsell.buy(mine, str(offered.id))
            results.append(purchase.status if purchase else None)
            _db.session.remove()

    threads = [threading.Thread(target=one_click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(charges_for(order)) == 1
    assert "SUCCEEDED" in results and set(results) <= {"SUCCEEDED", "CHARGING", None}
    assert db.session.execute(db.select(db.func.count(Order.id)).where(Order.source_type == "UPSELL")).scalar() == 1


def test_a_crash_between_the_charge_and_the_commit_charges_once(app, db, company, offered, monkeypatch):
    order = make_order(company)
    real_apply = upsell._apply

    def crash(purchase, first, charge):
        raise RuntimeError("worker killed after the charge")

    monkeypatch.setattr(upsell, "_apply", crash)
    with pytest.raises(RuntimeError):
        upsell.buy(order, str(offered.id))
    db.session.rollback()
    monkeypatch.setattr(upsell, "_apply", real_apply)
    assert db.session.execute(db.select(UpsellPurchase)).scalar_one().status == "CHARGING"

    purchase = upsell.buy(db.session.get(Order, order.id), str(offered.id))  # the shopper clicks again
    assert purchase.status == "SUCCEEDED"
    assert len(charges_for(order)) == 1


def test_requires_action_is_confirmed_by_the_shopper_on_the_page(client, db, company, offered, localstripe):
    order = make_order(company, card=AUTH_CARD)
    token = csrf(client, order)
    response = click(client, order, offered.id, token, HX)
    body = response.get_data(as_text=True)
    assert "Confirm with your bank" in body and 'data-client-secret="pi_' in body
    purchase = db.session.execute(db.select(UpsellPurchase)).scalar_one()
    assert purchase.status == "REQUIRES_ACTION"
    # Not confirmed yet: confirming changes nothing, and a second click charges nothing new.
    assert "Confirm with your bank" in client.post(f"/orders/{order.token}/upsell/confirm",
                                                   data={"csrf_token": token}, headers=HX).get_data(as_text=True)
    click(client, order, offered.id, token, HX)
    assert len(charges_for(order)) == 1
    # Stripe.js's confirmCardPayment, as localstripe's fake does it in the browser.
    secret = re.search(r'data-client-secret="([^"]+)"', body).group(1)
    request = urllib.request.Request(
        f"{localstripe}/v1/payment_intents/{purchase.payment_intent_id}/_authenticate?success=true",
        data=json.dumps({"key": "pk_test_localstripe", "client_secret": secret}).encode(), method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    done = client.post(f"/orders/{order.token}/upsell/confirm", data={"csrf_token": token})
    assert done.status_code == 303
    db.session.expire_all()
    purchase = db.session.execute(db.select(UpsellPurchase)).scalar_one()
    assert purchase.status == "SUCCEEDED" and db.session.get(Order, purchase.upsell_order_id).total_cents == 1200
    assert len(charges_for(order)) == 1


def test_refusals(client, db, company, offered):
    order = make_order(company)
    token = csrf(client, order)
    assert click(client, order, offered.id + 1000, token, HX).status_code == 409  # tampered variant
    assert click(client, order, "abc", token, HX).status_code == 409
    bogus = type("O", (), {"token": "x" * 43})()
    assert click(client, bogus, offered.id, token, HX).status_code == 404
    assert click(client, type("O", (), {"token": "y" * 90})(), offered.id, token, HX).status_code == 404
    plain = make_order(company, keep=False, email="bob@example.com")  # no kept card: nothing offered
    assert "Add to my order" not in client.get(f"/orders/{plain.token}").get_data(as_text=True)
    assert click(client, plain, offered.id, token, HX).status_code == 409
    # The merchant switched the offer off.
    db.session.execute(db.update(UpsellOffer).values(active=False))
    db.session.commit()
    assert click(client, order, offered.id, token, HX).status_code == 409
    assert charges_for(order) == []  # (plain keeps no Stripe Customer: nothing to charge)
    assert db.session.execute(db.select(db.func.count(UpsellPurchase.id))).scalar() == 0


def test_another_merchants_offer_is_never_shown(db, company, offered):
    from storefront.accounts.models import Company

    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    db.session.add(other)
    db.session.commit()
    order = make_order(other)
    assert upsell.offer_for(order) is None


def test_the_webhook_settles_an_authenticated_upsell_once(client, db, company, offered, localstripe):
    from storefront.payments import hooks as payment_hooks

    order = make_order(company, card=AUTH_CARD)
    token = csrf(client, order)
    purchase = upsell.buy(order, str(offered.id))
    assert purchase.status == "REQUIRES_ACTION"
    intent_id = purchase.payment_intent_id
    copy = gateway.retrieve_payment_intent(intent_id).to_dict()
    assert payment_hooks.first_answer(payment_hooks.intent_settled, copy) == "pending"  # not confirmed yet
    secret = copy["client_secret"]
    request = urllib.request.Request(
        f"{localstripe}/v1/payment_intents/{intent_id}/_authenticate?success=true",
        data=json.dumps({"key": "pk_test_localstripe", "client_secret": secret}).encode(), method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    copy = gateway.retrieve_payment_intent(intent_id).to_dict()
    assert payment_hooks.first_answer(payment_hooks.intent_settled, copy) == "succeeded"
    assert payment_hooks.first_answer(payment_hooks.intent_settled, copy) == "already"  # a replayed event
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(Order.id)).where(Order.source_type == "UPSELL")).scalar() == 1
    # The shopper's own confirmation afterwards changes nothing either.
    assert client.post(f"/orders/{order.token}/upsell/confirm", data={"csrf_token": token}).status_code == 303
    assert len(charges_for(order)) == 1


def test_kept_card_reads_only_well_formed_ids_of_an_intent_that_says_so():
    base = {"metadata": {"keep_card": "1"}, "customer": "cus_abc", "payment_method": "pm_def"}
    assert gateway.kept_card(base) == ("cus_abc", "pm_def")
    assert gateway.kept_card({**base, "metadata": {}}) is None
    assert gateway.kept_card({**base, "payment_method": None}) is None
    assert gateway.kept_card({**base, "customer": {"id": "cus_abc"}}) == ("cus_abc", "pm_def")
    assert gateway.kept_card({**base, "payment_method": "pm_\x00bad"}) is None
    assert gateway.kept_card({**base, "customer": "cus_" + "a" * 300}) is None
