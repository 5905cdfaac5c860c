"""Personalisation: a returning visitor (the returning-visitor cookie, nothing new tracked)
gets a "Welcome back" note on the first view of a new visit, with their open cart; a first
visit and a reload in the same visit get none, and the cached sections never hold it."""
from __future__ import annotations

from factories import csrf_token, make_page, make_product

from storefront.cookies import VISIT_COOKIE


def _new_visit(client):
    """The same browser coming back later: its visit cookie gone, its visitor cookie kept."""
    client.delete_cookie(VISIT_COOKIE)
    return client.get("/lp/summer-sale").get_data(as_text=True)


def test_a_returning_visitor_is_welcomed_once_per_visit(client, db, company):
    make_page(company, [make_product(company)])

    assert "Welcome back" not in client.get("/lp/summer-sale").get_data(as_text=True)
    assert "Welcome back" not in client.get("/lp/summer-sale").get_data(as_text=True)  # same visit

    body = _new_visit(client)
    assert "Welcome back!" in body and "Your cart still has" not in body
    assert "Welcome back" not in client.get("/lp/summer-sale").get_data(as_text=True)


def test_the_welcome_shows_the_open_cart(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000)
    make_page(company, [tee])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    added = client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": "2"},
                        headers={"X-CSRFToken": token})
    assert added.status_code == 303

    body = _new_visit(client)

    assert "Your cart still has 2 items" in body and 'href="/cart">view your cart' in body
    # Another shopper, on the same cached rendering of the page, is not welcomed.
    assert "Welcome back" not in client.application.test_client().get("/lp/summer-sale").get_data(as_text=True)
