"""SQL statements per request on the benchmarked shopper paths: a small constant that does not
grow with the products on the page or the lines in the cart (no N+1).

Each request runs in its own app context, so it starts on a fresh session and ``g`` as in
production (the fixture's long-lived context would share both between requests and
clients); statements are counted with a ``before_cursor_execute`` listener on the engine.
"""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from factories import make_page, make_product
from sqlalchemy import event

HX = {"HX-Request": "true"}

# Upper bounds per request: what each endpoint issues today (the same on PostgreSQL and
# SQLite). Lower is welcome; lower the bound with it.
MAX_STATEMENTS = {
    "landing": 7,
    "add": 12,
    "capture": 6,
    "drawer": 6,
}


@contextmanager
def counting(db):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def fresh(app, call):
    """Run one request in its own app context."""
    with app.app_context():
        return call()


def count(app, db, call):
    """(response, statements) for one request on a fresh session."""
    with counting(db) as statements:
        response = fresh(app, call)
    return response, statements


def make_grid(company, n: int, slug: str) -> list[int]:
    """A published page of ``n`` products (sizes, sales, tracked and low stock); returns the ids
    of its untracked variants, which can always be added."""
    products = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            product = make_product(company, f"{slug} Tee {i}", price_cents=2500, compare_at_cents=3000,
                                   variants=[{"Size": "S"}, {"Size": "M"}, {"Size": "L"}])
        elif kind == 1:
            product = make_product(company, f"{slug} Cap {i}", price_cents=1500, stock=5)
        else:
            product = make_product(company, f"{slug} Tote {i}", price_cents=1800)
        products.append(product)
    make_page(company, products, slug=slug)
    return [v.id for p in products for v in p.variants if not v.track_inventory]


@pytest.fixture()
def shop(db, company):
    small = make_grid(company, 4, "small")
    big = make_grid(company, 24, "big")
    return {"small": small, "big": big}


def visitor(app, slug="big"):
    """A new visitor's client, after viewing the page; returns (client, csrf headers)."""
    client = app.test_client()
    html = fresh(app, lambda: client.get(f"/lp/{slug}")).get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    return client, {"X-CSRFToken": token, **HX}


def shopper_with_cart(app, variants: list[int], email: str | None = None):
    client, headers = visitor(app)
    for variant in variants:
        response = fresh(app, lambda v=variant: client.post(
            "/cart/add", data={"variant_id": v, "quantity": 1}, headers=headers))
        assert response.status_code == 200
    if email:
        response = fresh(app, lambda: client.post("/checkout/field/email", data={"email": email},
                                                  headers=headers))
        assert response.status_code == 200
    return client, headers


def assert_constant(name: str, small: list[str], big: list[str]) -> None:
    assert len(small) == len(big), (
        f"{name}: {len(small)} statements for the small case, {len(big)} for the big one "
        "(an N+1?):\n" + "\n".join(big)
    )
    assert len(big) <= MAX_STATEMENTS[name], f"{name}: {len(big)} statements:\n" + "\n".join(big)


def test_landing_page_for_a_new_visitor(app, db, shop):
    small_response, small = count(app, db, lambda: app.test_client().get("/lp/small"))
    big_response, big = count(app, db, lambda: app.test_client().get("/lp/big"))

    assert small_response.status_code == 200 and big_response.status_code == 200
    assert big_response.get_data(as_text=True).count('class="product-card"') == 24
    assert_constant("landing", small, big)


def test_add_to_cart_over_htmx(app, db, shop):
    variants = shop["big"]
    one_client, one_headers = shopper_with_cart(app, variants[:1])
    six_client, six_headers = shopper_with_cart(app, variants[:6])

    one_response, one = count(app, db, lambda: one_client.post(
        "/cart/add", data={"variant_id": variants[7], "quantity": 1}, headers=one_headers))
    six_response, six = count(app, db, lambda: six_client.post(
        "/cart/add", data={"variant_id": variants[7], "quantity": 1}, headers=six_headers))

    assert one_response.status_code == 200 and six_response.status_code == 200
    assert six_response.get_data(as_text=True).count('class="cart-line"') == 7
    assert_constant("add", one, six)


def test_add_to_an_existing_line_over_htmx(app, db, shop):
    variants = shop["big"]
    one_client, one_headers = shopper_with_cart(app, variants[:1])
    six_client, six_headers = shopper_with_cart(app, variants[:6])

    _, one = count(app, db, lambda: one_client.post(
        "/cart/add", data={"variant_id": variants[0], "quantity": 1}, headers=one_headers))
    response, six = count(app, db, lambda: six_client.post(
        "/cart/add", data={"variant_id": variants[0], "quantity": 1}, headers=six_headers))

    assert response.status_code == 200
    assert_constant("add", one, six)


def test_checkout_field_capture(app, db, shop):
    variants = shop["big"]
    one_client, one_headers = shopper_with_cart(app, variants[:1], email="one@example.com")
    six_client, six_headers = shopper_with_cart(app, variants[:6], email="six@example.com")

    one_response, one = count(app, db, lambda: one_client.post(
        "/checkout/field/first_name", data={"first_name": "Ada"}, headers=one_headers))
    six_response, six = count(app, db, lambda: six_client.post(
        "/checkout/field/first_name", data={"first_name": "Ada"}, headers=six_headers))

    assert one_response.status_code == 200 and six_response.status_code == 200
    assert "is-valid" in six_response.get_data(as_text=True)
    assert_constant("capture", one, six)


def test_cart_drawer_fragment(app, db, shop):
    variants = shop["big"]
    one_client, _ = shopper_with_cart(app, variants[:1])
    six_client, _ = shopper_with_cart(app, variants[:6])

    one_response, one = count(app, db, lambda: one_client.get("/cart/drawer", headers=HX))
    six_response, six = count(app, db, lambda: six_client.get("/cart/drawer", headers=HX))

    assert one_response.status_code == 200 and six_response.status_code == 200
    assert six_response.get_data(as_text=True).count('class="cart-line"') == 6
    assert_constant("drawer", one, six)
