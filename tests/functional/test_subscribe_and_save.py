"""Subscribe and save on the landing page: a real radio pair (works without JavaScript), the
line carries its plan through the cart and the drawer, checkout states the terms; a plan of
another merchant or product, a malformed or archived one is refused with a 4xx."""
from __future__ import annotations

import re

import pytest
from billing_kit import make_plan
from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.cart.models import LineItem
from storefront.extensions import db as _db

HX = {"HX-Request": "true"}


@pytest.fixture()
def shop(client, db, company):
    coffee = make_product(company, "House Coffee", price_cents=2000, stock=50)
    plan = make_plan(company, coffee)  # 1800 cents every month: saves 10 %
    tee = make_product(company, "Classic Tee", price_cents=2500)
    make_page(company, [coffee, tee])
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return {"coffee": coffee, "tee": tee, "plan": plan, "csrf": csrf, "html": html}


def add(client, shop, plan_id, product="coffee", headers=None):
    data = {"csrf_token": shop["csrf"], "variant_id": shop[product].variants[0].id, "quantity": 1}
    if plan_id is not None:
        data["plan_id"] = plan_id
    return client.post("/cart/add", data=data, headers=headers or {})


def line(db, variant_id):
    return db.session.execute(db.select(LineItem).filter_by(variant_id=variant_id)).scalar_one_or_none()


def test_landing_offers_one_time_or_subscribe_and_save_as_radios(shop):
    html = shop["html"]
    assert re.search(r'<input type="radio" name="plan_id" value="" checked>', html)
    assert f'<input type="radio" name="plan_id" value="{shop["plan"].id}">' in html
    assert "Subscribe and save 10 %" in html and "$18.00 every month" in html
    # Only the product with a plan offers it.
    assert html.count('name="plan_id"') == 2


def test_no_js_subscribe_puts_the_plan_on_the_line_and_the_cart_page_says_so(client, db, shop):
    response = add(client, shop, str(shop["plan"].id))
    assert response.status_code == 303
    assert line(db, shop["coffee"].variants[0].id).plan_id == shop["plan"].id
    page = client.get("/cart").get_data(as_text=True)
    assert "Subscription: every month, save 10 %" in page
    assert "$18.00" in page


def test_htmx_subscribe_shows_the_plan_in_the_drawer(client, db, shop):
    response = add(client, shop, str(shop["plan"].id), headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Subscription: every month, save 10 %" in body


def test_one_time_choice_keeps_the_regular_price_and_a_later_choice_wins(client, db, shop):
    add(client, shop, "")
    variant_id = shop["coffee"].variants[0].id
    assert line(db, variant_id).plan_id is None
    assert "Subscription:" not in client.get("/cart").get_data(as_text=True)
    add(client, shop, str(shop["plan"].id))
    db.session.expire_all()
    found = line(db, variant_id)
    assert found.plan_id == shop["plan"].id and found.quantity == 2 and found.unit_price_cents == 1800


@pytest.mark.parametrize("raw", ["abc", "²", "-1", "0", str(2**31), "1" * 40, "1.5"])
def test_malformed_plan_ids_are_refused(client, db, shop, raw):
    response = add(client, shop, raw, headers=HX)
    assert response.status_code == 422
    assert line(db, shop["coffee"].variants[0].id) is None


def test_another_merchants_plan_another_products_plan_and_an_archived_plan_are_refused(client, db, shop):
    other = Company(name="Other", slug="other", currency="USD", support_email="o@other.test")
    _db.session.add(other)
    _db.session.commit()
    foreign = make_plan(other, make_product(other, "Their Coffee", price_cents=2000))
    assert add(client, shop, str(foreign.id), headers=HX).status_code == 422
    # The coffee's plan on the tee: a tampered form.
    tampered = add(client, shop, str(shop["plan"].id), product="tee", headers=HX)
    assert tampered.status_code == 422 and "not available for this product" in tampered.get_data(as_text=True)
    shop["plan"].status = "ARCHIVED"
    db.session.commit()
    assert add(client, shop, str(shop["plan"].id), headers=HX).status_code == 422
    assert db.session.execute(db.select(db.func.count()).select_from(LineItem)).scalar() == 0


def test_no_js_refusal_is_a_303_with_the_reason(client, db, shop):
    response = add(client, shop, "999999")
    assert response.status_code == 303
    assert "not available for this product" in client.get("/cart").get_data(as_text=True)


def test_a_second_subscription_in_one_cart_is_refused(client, db, company, shop):
    tea = make_product(company, "Tea", price_cents=1500)
    tea_plan = make_plan(company, tea, price_cents=1400)
    add(client, shop, str(shop["plan"].id))
    response = client.post("/cart/add", data={"csrf_token": shop["csrf"], "variant_id": tea.variants[0].id,
                                              "plan_id": tea_plan.id}, headers=HX)
    assert response.status_code == 422 and "already holds a subscription" in response.get_data(as_text=True)


def test_an_archived_plan_turns_the_line_back_into_one_time(client, db, shop):
    add(client, shop, str(shop["plan"].id))
    shop["plan"].status = "ARCHIVED"
    db.session.commit()
    page = client.get("/cart").get_data(as_text=True)
    assert "Subscription:" not in page and "$20.00" in page


def test_checkout_states_the_terms_and_the_card_consent(client, db, shop):
    add(client, shop, str(shop["plan"].id))
    html = client.get("/checkout").get_data(as_text=True)
    assert "Your subscription" in html
    assert "$18.00 every month" in html
    assert "The next charge is on" in html
    assert "/account/acme/sign-in" in html and "Cancel" in html
    assert "we keep your card" in html
    # A one-time cart shows no terms.
    client.post("/cart/remove", data={"csrf_token": shop["csrf"], "variant_id": shop["coffee"].variants[0].id})
    add(client, shop, "", product="tee")
    assert "Your subscription" not in client.get("/checkout").get_data(as_text=True)
