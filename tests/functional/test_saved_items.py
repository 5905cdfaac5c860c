"""Save for later and the wishlist over HTTP: the htmx path (drawer or wishlist block, toast,
no-store) and the no-JavaScript path (303 + flash), bad input refused with nothing changed,
another visitor's item answered 404, and saved items following the email to another device."""
from __future__ import annotations

import json

import pytest
from factories import csrf_token, make_page, make_product

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem, SavedCartItem

HX = {"HX-Request": "true"}


@pytest.fixture()
def shop(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    hoodie = make_product(company, "Hoodie", price_cents=4500, variants=[{"Size": "S"}, {"Size": "M"}])
    page = make_page(company, [tee, hoodie])
    client.get("/lp/summer-sale")
    return {"tee": tee.variants[0], "hoodie_s": hoodie.variants[0], "hoodie_m": hoodie.variants[1],
            "page": page, "csrf": csrf_token(client, "/lp/summer-sale")}


def post(client, shop, path, data, htmx=True):
    headers = {"X-CSRFToken": shop["csrf"], **(HX if htmx else {})}
    return client.post(path, data=data, headers=headers)


def lines(db):
    return {(li.variant_id, li.quantity) for li in db.session.execute(db.select(LineItem)).scalars()}


def saved(db, kind=None):
    query = db.select(SavedCartItem).order_by(SavedCartItem.id)
    if kind:
        query = query.filter_by(kind=kind)
    return db.session.execute(query).scalars().all()


def toast_of(response):
    return json.loads(response.headers["HX-Trigger"])["toast"]


def another_shopper(app, shop):
    """A second visitor of the same page, on a client (device) of their own."""
    other = app.test_client()
    other.get("/lp/summer-sale")
    return other, {"csrf": csrf_token(other, "/lp/summer-sale")}


# ---- Save for later ----------------------------------------------------------------------

def test_save_for_later_over_htmx_moves_the_line_under_the_cart(client, db, shop):
    tee = shop["tee"]
    post(client, shop, "/cart/add", {"variant_id": tee.id, "quantity": "2"})

    response = post(client, shop, "/cart/save", {"variant_id": tee.id})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert toast_of(response)["message"] == "Saved for later"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'class="cart-line"' not in html and "Your cart is empty" in html
    assert "Saved for later" in html and "Move to cart" in html and "Classic Tee" in html
    assert 'data-count="0"' in html  # the badge, out of band
    assert lines(db) == set()
    [item] = saved(db)
    assert (item.variant_id, item.kind, item.quantity) == (tee.id, "saved", 2)
    assert item.visitor_id == client.get_cookie("sf_vid").value
    assert client.get_cookie("sf_saved") is not None


def test_save_for_later_without_javascript_redirects_with_a_flash(client, db, shop):
    post(client, shop, "/cart/add", {"variant_id": shop["tee"].id}, htmx=False)

    response = post(client, shop, "/cart/save", {"variant_id": shop["tee"].id}, htmx=False)

    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    page = client.get("/cart").get_data(as_text=True)
    assert "Saved for later" in page and 'action="/saved/move"' in page and "<html" in page


def test_saving_the_same_variant_twice_adds_up_to_99(client, db, shop):
    hoodie = shop["hoodie_s"]
    for quantity in ("60", "50"):
        post(client, shop, "/cart/add", {"variant_id": hoodie.id, "quantity": quantity})
        post(client, shop, "/cart/save", {"variant_id": hoodie.id})

    [item] = saved(db)
    assert item.quantity == 99


@pytest.mark.parametrize("variant_id", ["999999", "abc", "", "9" * 30])
def test_saving_a_line_that_is_not_in_the_cart_is_refused(client, db, shop, variant_id):
    post(client, shop, "/cart/add", {"variant_id": shop["tee"].id})

    response = post(client, shop, "/cart/save", {"variant_id": variant_id})

    assert response.status_code == 422
    assert toast_of(response)["level"] == "error"
    assert lines(db) == {(shop["tee"].id, 1)} and saved(db) == []


def test_a_shopper_without_a_visitor_cookie_gets_one(app, db, shop):
    client = app.test_client()  # never saw the landing page: no visit, no visitor id
    token = csrf_token(client, "/cart")
    client.post("/cart/add", data={"variant_id": shop["tee"].id}, headers={"X-CSRFToken": token, **HX})

    response = client.post("/cart/save", data={"variant_id": shop["tee"].id}, headers={"X-CSRFToken": token, **HX})

    assert response.status_code == 200
    visitor = client.get_cookie("sf_vid")
    assert visitor is not None and visitor.http_only and visitor.same_site == "Lax"
    assert saved(db)[0].visitor_id == visitor.value
    assert "Classic Tee" in client.get("/cart").get_data(as_text=True)


# ---- Move back and remove -----------------------------------------------------------------

def _saved_tee(client, db, shop, quantity="2"):
    post(client, shop, "/cart/add", {"variant_id": shop["tee"].id, "quantity": quantity})
    post(client, shop, "/cart/save", {"variant_id": shop["tee"].id})
    return saved(db)[0]


def test_move_to_cart_over_htmx_puts_the_line_back(client, db, shop):
    item = _saved_tee(client, db, shop)

    response = post(client, shop, "/saved/move", {"saved_id": item.id})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and toast_of(response)["message"] == "Moved to cart"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'class="cart-line"' in html and "Move to cart" not in html
    assert lines(db) == {(shop["tee"].id, 2)} and saved(db) == []


def test_move_to_cart_without_javascript(client, db, shop):
    item = _saved_tee(client, db, shop)

    response = post(client, shop, "/saved/move", {"saved_id": item.id}, htmx=False)

    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    assert "Moved to cart" in client.get("/cart").get_data(as_text=True)
    assert lines(db) == {(shop["tee"].id, 2)}


def test_move_to_cart_respects_the_stock(client, db, shop):
    item = _saved_tee(client, db, shop, quantity="3")
    shop["tee"].stock = 2
    db.session.commit()

    response = post(client, shop, "/saved/move", {"saved_id": item.id})

    assert response.status_code == 422 and "Only 2" in response.get_data(as_text=True)
    assert lines(db) == set() and len(saved(db)) == 1


def test_move_to_cart_respects_the_99_limit(client, db, shop):
    hoodie = shop["hoodie_s"]
    post(client, shop, "/cart/add", {"variant_id": hoodie.id, "quantity": "50"})
    post(client, shop, "/cart/save", {"variant_id": hoodie.id})
    post(client, shop, "/cart/add", {"variant_id": hoodie.id, "quantity": "60"})

    response = post(client, shop, "/saved/move", {"saved_id": saved(db)[0].id}, htmx=False)

    assert response.status_code == 303
    assert "at most 99" in client.get("/cart").get_data(as_text=True)
    assert lines(db) == {(hoodie.id, 60)} and saved(db)[0].quantity == 50


def test_remove_a_saved_item_both_ways(client, db, shop):
    item = _saved_tee(client, db, shop)

    response = post(client, shop, "/saved/remove", {"saved_id": item.id})

    assert response.status_code == 200 and toast_of(response)["message"] == "Removed from saved items"
    assert "Move to cart" not in response.get_data(as_text=True)
    assert saved(db) == []
    # Nothing saved any more: the hint cookie goes, so the drawer stops looking.
    assert client.get_cookie("sf_saved") is None

    item = _saved_tee(client, db, shop)
    response = post(client, shop, "/saved/remove", {"saved_id": item.id}, htmx=False)
    assert response.status_code == 303 and saved(db) == []


@pytest.mark.parametrize("path", ["/saved/move", "/saved/remove"])
@pytest.mark.parametrize("htmx", [True, False])
def test_another_visitors_saved_item_is_not_found(app, client, db, shop, path, htmx):
    other, other_shop = another_shopper(app, shop)
    post(other, other_shop, "/cart/add", {"variant_id": shop["tee"].id})
    post(other, other_shop, "/cart/save", {"variant_id": shop["tee"].id})
    [theirs] = saved(db)

    response = post(client, shop, path, {"saved_id": theirs.id}, htmx=htmx)

    assert response.status_code == 404
    assert "not in your saved items" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert len(saved(db)) == 1 and lines(db) == set()


@pytest.mark.parametrize("saved_id", ["999999", "abc", "", "-1", "9" * 30, "1" * 5000])
def test_malformed_or_unknown_saved_ids_are_not_found(client, db, shop, saved_id):
    _saved_tee(client, db, shop)

    response = post(client, shop, "/saved/move", {"saved_id": saved_id})

    assert response.status_code == 404 and toast_of(response)["level"] == "error"
    assert len(saved(db)) == 1


def test_saved_item_posts_need_the_csrf_token(client, db, shop):
    item = _saved_tee(client, db, shop)

    for path in ("/saved/move", "/saved/remove", "/cart/save", "/wishlist/add"):
        response = client.post(path, data={"saved_id": item.id, "variant_id": shop["tee"].id}, headers=HX)
        assert response.status_code == 400
    assert len(saved(db)) == 1 and lines(db) == set()


# ---- Wishlist -----------------------------------------------------------------------------

def test_product_cards_offer_add_to_wishlist(client, shop):
    html = client.get("/lp/summer-sale").get_data(as_text=True)

    assert html.count('action="/wishlist/add"') == 2
    assert f'name="csrf_token" value="{shop["csrf"]}"' in html and "__CSRF_TOKEN__" not in html


def test_wishlist_add_over_htmx_then_the_wishlist_page(client, db, shop):
    response = post(client, shop, "/wishlist/add", {"variant_id": shop["hoodie_s"].id})

    assert response.status_code == 200 and toast_of(response)["message"] == "Added to your wishlist"
    assert 'id="cart-status" hx-swap-oob="innerHTML">Added to your wishlist.' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    again = post(client, shop, "/wishlist/add", {"variant_id": shop["hoodie_s"].id})
    assert toast_of(again)["message"] == "Already in your wishlist"
    assert [(i.kind, i.variant_id) for i in saved(db)] == [("wishlist", shop["hoodie_s"].id)]

    page = client.get("/wishlist")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Your wishlist" in html and "Hoodie" in html and "Add to cart" in html
    assert 'name="variant_id"' in html and ">M</option>" in html  # choose the size when adding
    fragment = client.get("/wishlist", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "Hoodie" in fragment


def test_wishlist_add_without_javascript(client, db, shop):
    response = post(client, shop, "/wishlist/add", {"variant_id": shop["tee"].id}, htmx=False)

    assert response.status_code == 303 and response.headers["Location"].endswith("/wishlist")
    html = client.get("/wishlist").get_data(as_text=True)
    assert "Added to your wishlist" in html and "Classic Tee" in html


def test_wishlist_add_to_cart_keeps_the_item_and_can_pick_a_size(client, db, shop):
    post(client, shop, "/wishlist/add", {"variant_id": shop["hoodie_s"].id})
    [item] = saved(db)

    response = post(client, shop, "/saved/move",
                    {"saved_id": item.id, "view": "wishlist", "variant_id": shop["hoodie_m"].id})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and toast_of(response)["message"] == "Added to cart"
    assert "Hoodie" in html and 'data-count="1"' in html and 'hx-swap-oob="true"' in html
    assert lines(db) == {(shop["hoodie_m"].id, 1)}
    assert len(saved(db, "wishlist")) == 1

    response = post(client, shop, "/saved/remove", {"saved_id": item.id, "view": "wishlist"}, htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/wishlist")
    assert "Your wishlist is empty" in client.get("/wishlist").get_data(as_text=True)


def test_wishlist_option_must_be_of_the_same_product(client, db, shop):
    post(client, shop, "/wishlist/add", {"variant_id": shop["hoodie_s"].id})

    response = post(client, shop, "/saved/move",
                    {"saved_id": saved(db)[0].id, "view": "wishlist", "variant_id": shop["tee"].id})

    assert response.status_code == 422 and "Unknown product option" in response.get_data(as_text=True)
    assert lines(db) == set()


@pytest.mark.parametrize("variant_id", ["999999", "abc", "", "-1", "9" * 30, "x" * 5000])
def test_wishlist_refuses_unknown_variants(client, db, shop, variant_id):
    response = post(client, shop, "/wishlist/add", {"variant_id": variant_id})

    assert response.status_code == 422 and toast_of(response)["message"].startswith("Unknown product")
    assert saved(db) == []


def test_wishlist_refuses_another_merchants_variant_both_ways(client, db, shop):
    other = Company(name="Other", slug="other", currency="EUR")
    db.session.add(other)
    db.session.commit()
    foreign = make_product(other, "Foreign Tee", handle="foreign").variants[0]

    response = post(client, shop, "/wishlist/add", {"variant_id": foreign.id})
    assert response.status_code == 422 and "Unknown product" in toast_of(response)["message"]

    response = post(client, shop, "/wishlist/add", {"variant_id": foreign.id}, htmx=False)
    assert response.status_code == 303
    assert "Unknown product" in client.get("/wishlist").get_data(as_text=True)
    assert saved(db) == []


def test_wishlist_page_of_a_new_visitor_is_empty(app, shop):
    response = app.test_client().get("/wishlist")

    assert response.status_code == 200 and "Your wishlist is empty" in response.get_data(as_text=True)


def test_the_drawer_links_the_wishlist_and_the_landing_drawer_shows_saved_items(client, db, shop):
    post(client, shop, "/wishlist/add", {"variant_id": shop["tee"].id})
    post(client, shop, "/cart/add", {"variant_id": shop["hoodie_s"].id})
    post(client, shop, "/cart/save", {"variant_id": shop["hoodie_s"].id})

    drawer = client.get("/cart/drawer", headers=HX).get_data(as_text=True)
    landing = client.get("/lp/summer-sale").get_data(as_text=True)

    assert 'href="/wishlist">Your wishlist (1)' in drawer and "Move to cart" in drawer
    assert "Saved for later" in landing and 'action="/saved/move"' in landing


# ---- The email joins devices --------------------------------------------------------------

def test_email_at_checkout_attaches_saved_items_and_they_follow_to_another_device(app, client, db, shop):
    _saved_tee(client, db, shop)
    post(client, shop, "/cart/add", {"variant_id": shop["hoodie_s"].id})
    post(client, shop, "/checkout/field/email", {"email": "ada@example.com"})
    assert saved(db)[0].email == "ada@example.com"

    phone, phone_shop = another_shopper(app, shop)
    assert "Classic Tee" not in phone.get("/cart").get_data(as_text=True)
    post(phone, phone_shop, "/cart/add", {"variant_id": shop["hoodie_m"].id})
    post(phone, phone_shop, "/checkout/field/email", {"email": "ada@example.com"})

    page = phone.get("/cart").get_data(as_text=True)
    assert "Saved for later" in page and "Classic Tee" in page
    response = post(phone, phone_shop, "/saved/move", {"saved_id": saved(db)[0].id})
    assert response.status_code == 200
    phone_cart = db.session.execute(
        db.select(Cart).where(Cart.status == "ACTIVE").order_by(Cart.id.desc())).scalars().first()
    assert {li.variant_id for li in phone_cart.lines} >= {shop["tee"].id, shop["hoodie_m"].id}
