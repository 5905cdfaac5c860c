"""SQL statements per request on the benchmarked shopper paths: a small constant that does not
grow with the products on the page or the lines in the cart (no N+1).

Each request runs in its own app context, so it starts on a fresh session and ``g`` as in
production (the fixture's long-lived context would share both between requests and
clients); statements are counted with a ``before_cursor_execute`` listener on the engine.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

import pytest
from factories import make_page, make_product
from sqlalchemy import event

HX = {"HX-Request": "true"}

# Upper bounds per request: what each endpoint issues today on PostgreSQL. Lower is
# welcome; lower the bound with it.
MAX_STATEMENTS = {
    # 6, plus the page's running experiment when its per-process cache is cold (the one
    # statement the experiment assignment may add; a cached lookup costs none).
    "landing": 7,
    "add": 8,
    "capture": 6,
    "drawer": 3,
    "shipping": 5,
    "pay": 29,
}
# Pricings of the cart per request (``pricing.context.cart_priced``): at most one. The
# capture of a field that changes no total prices nothing.
MAX_PRICINGS = {"landing": 0, "add": 1, "capture": 0, "drawer": 1, "shipping": 1, "pay": 1}


class Counted(list):
    """The SQL statements of one request, and how many times it priced the cart."""

    pricings = 0


@contextmanager
def counting(db):
    from storefront.pricing.context import cart_priced

    statements = Counted()

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def priced(_cart):
        statements.pricings += 1

    event.listen(db.engine, "before_cursor_execute", before)
    cart_priced.connect(priced)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        cart_priced.disconnect(priced)


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


# The suite runs on PostgreSQL exactly when TEST_DATABASE_URL is set (tests/conftest.py).
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


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
    # SQLite has no data-modifying CTE: a new visit and its page_view are two INSERTs there.
    bound = MAX_STATEMENTS[name] + (1 if name == "landing" and not ON_POSTGRES else 0)
    assert len(big) <= bound, f"{name}: {len(big)} statements:\n" + "\n".join(big)
    assert big.pricings <= MAX_PRICINGS[name], f"{name} priced the cart {big.pricings} times"


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


# ----------------------------------------------------------------------------- shipping and pay


def checkout_ready(app, db, company, variants: list[int], email: str):
    from factories import make_zone

    if not db.session.execute(db.text("SELECT 1 FROM shipping_zones")).first():
        make_zone(company, methods=[{"name": "Standard", "type": "FLAT_RATE", "amount_cents": 595},
                                    {"name": "Express", "type": "FLAT_RATE", "amount_cents": 1500}])
    client, headers = shopper_with_cart(app, variants, email=email)
    for name, value in {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Way", "city": "Austin",
                        "postcode": "78701", "country": "US"}.items():
        response = fresh(app, lambda n=name, v=value: client.post(f"/checkout/field/{n}", data={n: v}, headers=headers))
        assert response.status_code == 200
    fresh(app, lambda: client.get("/checkout"))
    return client, headers


def express_id(db) -> int:
    return db.session.execute(db.text("SELECT id FROM shipping_methods WHERE name = 'Express'")).scalar_one()


def test_choose_shipping_over_htmx(app, db, company, shop):
    variants = shop["big"]
    one_client, one_headers = checkout_ready(app, db, company, variants[:1], "one@example.com")
    six_client, six_headers = checkout_ready(app, db, company, variants[:6], "six@example.com")
    method = express_id(db)

    one_response, one = count(app, db, lambda: one_client.post(
        "/checkout/shipping", data={"shipping_method_id": method}, headers=one_headers))
    six_response, six = count(app, db, lambda: six_client.post(
        "/checkout/shipping", data={"shipping_method_id": method}, headers=six_headers))

    assert one_response.status_code == 200 and six_response.status_code == 200
    assert "$15.00" in six_response.get_data(as_text=True)
    assert_constant("shipping", one, six)


@pytest.mark.postgres
def test_pay_with_a_test_card(app, db, company, shop, is_postgres):
    # On SQLite the stock is taken line by line (no UPDATE ... FROM); the bound is PostgreSQL's.
    if not is_postgres:
        pytest.skip("the pay path's statement count is PostgreSQL's")
    from test_checkout import card_token

    variants = shop["big"]
    one_client, one_headers = checkout_ready(app, db, company, variants[:1], "one@example.com")
    six_client, six_headers = checkout_ready(app, db, company, variants[:6], "six@example.com")
    base = app.config["STRIPE_API_BASE"]
    headers = {"Accept": "application/json"}

    one_response, one = count(app, db, lambda: one_client.post(
        "/checkout/pay", data={"card_id": card_token(base)}, headers={**headers, "X-CSRFToken": one_headers["X-CSRFToken"]}))
    six_response, six = count(app, db, lambda: six_client.post(
        "/checkout/pay", data={"card_id": card_token(base)}, headers={**headers, "X-CSRFToken": six_headers["X-CSRFToken"]}))

    assert one_response.get_json()["status"] == "succeeded", one_response.get_json()
    assert six_response.get_json()["status"] == "succeeded", six_response.get_json()
    assert_constant("pay", one, six)


def test_landing_page_with_the_country_header(app, db, shop):
    """The visitor's country line (COUNTRY_HEADER) adds nothing without the setting, and with
    it at most pricing's zone lookup, only while its per-process cache is cold."""
    from factories import make_zone

    from storefront.accounts.models import Company
    from storefront.pricing.context import forget_pricing_config

    make_zone(db.session.execute(db.select(Company)).scalar_one(), countries=("DE",))
    germany = {"CF-IPCountry": "DE"}
    fresh(app, lambda: app.test_client().get("/lp/big"))  # the experiment lookup's cache, warm
    _, baseline = count(app, db, lambda: app.test_client().get("/lp/big"))
    _, unconfigured = count(app, db, lambda: app.test_client().get("/lp/big", headers=germany))
    app.config["COUNTRY_HEADER"] = "CF-IPCountry"
    _, absent = count(app, db, lambda: app.test_client().get("/lp/big"))
    forget_pricing_config()
    cold_response, cold = count(app, db, lambda: app.test_client().get("/lp/big", headers=germany))
    warm_response, warm = count(app, db, lambda: app.test_client().get("/lp/big", headers=germany))

    assert "Shipping to Germany" in cold_response.get_data(as_text=True)
    assert "Shipping to Germany" in warm_response.get_data(as_text=True)
    assert len(unconfigured) == len(absent) == len(baseline) == len(warm)
    assert len(cold) <= len(baseline) + 2  # the zones and their methods (selectinload), once
    assert cold.pricings == warm.pricings == 0
