"""The portal's saved cards on localstripe: a new card through a SetupIntent on the
card-update page (an owed invoice is retried at once), and removing a card only when no
live subscription needs it. The portal also wears the shop's theme."""
from __future__ import annotations

import re

from billing_kit import GOOD_CARD, make_plan, subscribe
from factories import make_page, make_product
from portal_kit import HX, sign_in

from storefront.billing.models import Subscription
from storefront.checkout.models import Customer
from storefront.payments import gateway, saved_cards


def _customer(db, sub) -> Customer:
    return db.session.get(Customer, sub.customer_id)


def _confirmed_setup(page_html: str, stripe_customer: str, number: str = GOOD_CARD) -> str:
    """What Stripe.js does in the browser: confirm the page's SetupIntent with a card."""
    secret = re.search(r'data-client-secret="([^"]+)"', page_html).group(1)
    setup_id = secret.split("_secret_")[0]
    method = gateway.client().v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}})
    saved_cards.confirm_setup_intent(setup_id, method.id)
    assert saved_cards.retrieve_setup_intent(setup_id).to_dict()["customer"] == stripe_customer
    return setup_id


def test_a_new_card_through_the_setup_intent_replaces_the_subscriptions_card(client, db, company, smtp):
    sub = subscribe(company, make_plan(company))
    old_card = sub.payment_method_id
    csrf = sign_in(client, company, _customer(db, sub), smtp)
    page = client.get(f"/account/subscriptions/{sub.id}/card")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "card-element" in html and "Update your card" in html
    setup_id = _confirmed_setup(html, sub.stripe_customer_id)
    saved = client.post(f"/account/subscriptions/{sub.id}/card", data={"setup_intent": setup_id},
                        headers={"X-CSRFToken": csrf})
    assert saved.status_code == 303 and saved.location.endswith(f"/account/subscriptions/{sub.id}")
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).payment_method_id not in (None, old_card)
    assert "Your new card is saved" in client.get(saved.location).get_data(as_text=True)
    bad = client.post(f"/account/subscriptions/{sub.id}/card", data={"setup_intent": "seti_nope"},
                      headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422


def test_a_card_is_removed_only_when_no_live_subscription_needs_it(client, db, company, smtp):
    sub = subscribe(company, make_plan(company))
    csrf = sign_in(client, company, _customer(db, sub), smtp)
    cards = client.get("/account/cards").get_data(as_text=True)
    assert "Visa ending 4242" in cards and "Remove" not in cards
    refused = client.post("/account/cards/remove", data={"card": sub.payment_method_id},
                          headers={"X-CSRFToken": csrf, **HX})
    assert "still uses this card" in refused.headers["HX-Trigger"]
    client.post(f"/account/subscriptions/{sub.id}/cancel", data={"reason": "other"}, headers={"X-CSRFToken": csrf})
    client.post(f"/account/subscriptions/{sub.id}/cancel", data={"reason": "other"}, headers={"X-CSRFToken": csrf})
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).status == "CANCELED"
    method = sub.payment_method_id
    removed = client.post("/account/cards/remove", data={"card": method}, headers={"X-CSRFToken": csrf})
    assert removed.status_code == 303
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).payment_method_id is None
    assert gateway.client().v1.payment_methods.retrieve(method).to_dict().get("customer") is None
    assert "No saved cards" in client.get("/account/cards").get_data(as_text=True)


def test_the_portal_wears_the_shops_theme(client, db, company, smtp):
    page = make_page(company, [make_product(company)], slug="coffee")
    sub = subscribe(company, make_plan(company))
    sign_in(client, company, _customer(db, sub), smtp)
    html = client.get("/account/").get_data(as_text=True)
    assert f"/lp/{page.slug}" in html  # the brand links back to the shop
    assert re.search(rf'<link rel="stylesheet" href="/lp/{page.slug}/theme\.css\?v=\w+">', html)
