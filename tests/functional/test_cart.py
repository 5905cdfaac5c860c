"""Cart drawer: the htmx path (drawer + oob badge + toast) and the no-JavaScript path
(303 to /cart), with every bad input refused and the cart left unchanged."""
from __future__ import annotations

import json

import pytest
from factories import csrf_token, make_page, make_product

from storefront.cart.models import Cart, LineItem
from storefront.visits.models import VisitEvent

HX = {"HX-Request": "true"}


@pytest.fixture()
def shop(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    hoodie = make_product(company, "Hoodie", price_cents=4500, variants=[{"Size": "S"}, {"Size": "M"}])
    page = make_page(company, [tee, hoodie])
    client.get("/lp/summer-sale?utm_source=newsletter&utm_campaign=june")
    token = csrf_token(client, "/lp/summer-sale")
    return {"tee": tee, "hoodie": hoodie, "page": page, "csrf": token}


def post(client, shop, path, data, htmx=True):
    headers = {"X-CSRFToken": shop["csrf"], **(HX if htmx else {})}
    return client.post(path, data=data, headers=headers)


def lines(db):
    return {(li.variant_id, li.quantity) for li in db.session.execute(db.select(LineItem)).scalars()}


def test_htmx_add_returns_drawer_badge_and_toast(client, db, shop):
    variant = shop["hoodie"].variants[1]

    response = post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "2"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hoodie" in html and "Size" not in html.split("Hoodie")[0]
    assert 'id="cart-badge"' in html and 'hx-swap-oob="true"' in html
    assert 'data-count="2"' in html
    assert "$90.00" in html
    trigger = json.loads(response.headers["HX-Trigger"])
    assert trigger["toast"]["message"] == "Added to cart"
    assert "cart-opened" in trigger
    assert response.headers["Cache-Control"] == "no-store"
    assert "<html" not in html
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert cart.source_type == "LANDING_PAGE" and cart.landing_page_id == shop["page"].id
    assert lines(db) == {(variant.id, 2)}
    assert db.session.execute(db.select(VisitEvent).filter_by(type="add_to_cart")).scalar_one()


def test_plain_form_add_redirects_303_to_cart_page(client, db, shop):
    variant = shop["tee"].variants[0]

    response = post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "1"}, htmx=False)

    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    page = client.get("/cart").get_data(as_text=True)
    assert "Added to cart" in page and "Classic Tee" in page and "<html" in page
    assert "Continue shopping" in page


def test_quantity_change_and_remove(client, db, shop):
    variant = shop["tee"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id})

    response = post(client, shop, "/cart/update", {"variant_id": variant.id, "quantity": "3"})
    assert response.status_code == 200 and "$60.00" in response.get_data(as_text=True)
    assert lines(db) == {(variant.id, 3)}

    response = post(client, shop, "/cart/remove", {"variant_id": variant.id}, htmx=False)
    assert response.status_code == 303
    assert lines(db) == set()


def test_cart_survives_a_new_client_session_with_the_cookie(client, app, db, shop):
    variant = shop["tee"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id})
    cart_cookie = client.get_cookie("sf_cart")
    assert cart_cookie.http_only and cart_cookie.same_site == "Lax"

    restarted = app.test_client()
    restarted.set_cookie("sf_cart", cart_cookie.value)
    assert "Classic Tee" in restarted.get("/cart").get_data(as_text=True)


def test_price_change_after_adding_is_shown_and_used(client, db, shop):
    variant = shop["tee"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id})
    variant.price_cents = 2500
    db.session.commit()

    html = client.get("/cart").get_data(as_text=True)

    assert "Some prices changed" in html and "$25.00" in html and "was $20.00" in html


@pytest.mark.parametrize(
    "quantity, message",
    [("0", "at least 1"), ("-3", "at least 1"), ("100", "at most 99"), ("abc", "whole number"),
     ("", "whole number"), ("1.5", "whole number"), ("6", "Only 5")],
)
def test_bad_quantities_are_refused_and_change_nothing(client, db, shop, quantity, message):
    variant = shop["tee"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "1"})

    response = post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": quantity})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert json.loads(response.headers["HX-Trigger"])["toast"]["level"] == "error"
    assert lines(db) == {(variant.id, 1)}


def test_stock_limit_counts_what_is_already_in_the_cart(client, db, shop):
    variant = shop["tee"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "4"})

    response = post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "2"})

    assert response.status_code == 422 and "Only 5" in response.get_data(as_text=True)
    assert lines(db) == {(variant.id, 4)}


def test_line_total_over_99_is_refused_and_the_drawer_shows_the_line_unchanged(client, db, shop):
    variant = shop["hoodie"].variants[0]
    post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "98"})

    response = post(client, shop, "/cart/add", {"variant_id": variant.id, "quantity": "2"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "at most 99" in html
    assert 'data-count="98"' in html and 'data-count="100"' not in html
    assert lines(db) == {(variant.id, 98)}
    assert len(db.session.execute(db.select(VisitEvent).filter_by(type="add_to_cart")).scalars().all()) == 1


def test_refused_first_add_leaves_no_cart(client, db, shop):
    response = post(client, shop, "/cart/add", {"variant_id": shop["tee"].variants[0].id, "quantity": "6"})

    assert response.status_code == 422 and "Only 5" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Cart)).scalar_one_or_none() is None
    assert lines(db) == set()
    assert "sf_cart" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("variant_id", ["999999", "abc", "", "-1", "9" * 30])
def test_unknown_variant_is_refused(client, db, shop, variant_id):
    response = post(client, shop, "/cart/add", {"variant_id": variant_id})

    assert response.status_code == 422 and "Unknown" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Cart)).scalar_one_or_none() is None


def test_another_merchants_variant_is_refused(client, db, shop):
    from storefront.accounts.models import Company

    other = Company(name="Other", slug="other", currency="EUR")
    db.session.add(other)
    db.session.commit()
    foreign = make_product(other, "Foreign Tee", handle="foreign")

    response = post(client, shop, "/cart/add", {"variant_id": foreign.variants[0].id})

    assert response.status_code == 422 and "Unknown product" in response.get_data(as_text=True)
    assert lines(db) == set()


def test_missing_csrf_token_is_refused_without_change(client, db, shop):
    response = client.post("/cart/add", data={"variant_id": shop["tee"].variants[0].id}, headers=HX)

    assert response.status_code == 400
    assert "session expired" in response.get_data(as_text=True)
    assert lines(db) == set()


def test_no_js_bad_input_redirects_back_with_flash(client, db, shop):
    response = post(client, shop, "/cart/add", {"variant_id": shop["tee"].variants[0].id, "quantity": "0"},
                    htmx=False)

    assert response.status_code == 303
    assert "at least 1" in client.get("/cart").get_data(as_text=True)


def test_rate_limit_answers_429_with_a_friendly_fragment(app, client, db, shop):
    app.config["RATELIMIT_CART"] = "3/minute"
    variant = shop["tee"].variants[0]

    statuses = [post(client, shop, "/cart/add", {"variant_id": variant.id}).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = post(client, shop, "/cart/add", {"variant_id": variant.id})
    assert "Too many requests" in response.get_data(as_text=True)
    assert lines(db) == {(variant.id, 3)}


def test_badge_and_drawer_fragments(client, db, shop):
    post(client, shop, "/cart/add", {"variant_id": shop["tee"].variants[0].id})

    badge = client.get("/cart/badge", headers=HX)
    drawer = client.get("/cart/drawer", headers=HX)

    assert 'data-count="1"' in badge.get_data(as_text=True)
    assert "Classic Tee" in drawer.get_data(as_text=True) and "<html" not in drawer.get_data(as_text=True)
    assert badge.headers["Cache-Control"] == "no-store"


def test_no_js_error_never_redirects_to_another_host(client, db, shop):
    response = client.post("/cart/add", data={"variant_id": "abc", "csrf_token": shop["csrf"]},
                           headers={"Referer": "https://evil.example/phish"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/cart"


def test_cart_page_wears_the_landing_pages_theme(client, db, shop):
    post(client, shop, "/cart/add", {"variant_id": shop["tee"].variants[0].id}, htmx=False)

    html = client.get("/cart").get_data(as_text=True)

    assert "/lp/summer-sale/theme.css?v=" in html
    assert "data-drawer-side=" in html and "Acme Apparel" in html
