"""The shopper's rate limits: per IP and per visit, both enforced though counted in one hit,
configurable by ``RATELIMIT_*``."""
from __future__ import annotations

import pytest
from factories import csrf_token, make_page, make_product

from storefront.cookies import VISIT_COOKIE

HX = {"HX-Request": "true"}


@pytest.fixture()
def shop(db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000)
    make_page(company, [tee])
    return {"variant": tee.variants[0].id}


def shopper(app, ip: str):
    """A client of its own (its own visit, session and CSRF token) from ``ip``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    return client, token


def add(client, token, variant_id, ip=None):
    extra = {"environ_base": {"REMOTE_ADDR": ip}} if ip else {}
    return client.post("/cart/add", data={"variant_id": variant_id}, headers={"X-CSRFToken": token, **HX},
                       **extra).status_code


def test_two_visitors_behind_one_ip_share_the_ip_limit(app, shop):
    app.config["RATELIMIT_CART"] = "3/minute"
    first, first_token = shopper(app, "203.0.113.7")
    second, second_token = shopper(app, "203.0.113.7")

    codes = [add(first, first_token, shop["variant"]), add(first, first_token, shop["variant"]),
             add(second, second_token, shop["variant"]), add(second, second_token, shop["variant"])]

    assert codes == [200, 200, 200, 429]


def test_one_visit_from_two_ips_keeps_its_visit_limit(app, shop):
    app.config["RATELIMIT_CART"] = "3/minute"
    client, token = shopper(app, "203.0.113.8")
    assert client.get_cookie(VISIT_COOKIE) is not None

    codes = [add(client, token, shop["variant"], ip=ip) for ip in
             ("203.0.113.8", "198.51.100.1", "198.51.100.2", "198.51.100.3")]

    assert codes == [200, 200, 200, 429]


def test_a_visitor_on_another_ip_is_not_held_back_by_a_busy_visit(app, shop):
    app.config["RATELIMIT_CART"] = "2/minute"
    busy, busy_token = shopper(app, "203.0.113.9")
    other, other_token = shopper(app, "198.51.100.9")

    busy_codes = [add(busy, busy_token, shop["variant"]) for _ in range(3)]
    other_codes = [add(other, other_token, shop["variant"]) for _ in range(2)]

    assert busy_codes == [200, 200, 429]
    assert other_codes == [200, 200]
