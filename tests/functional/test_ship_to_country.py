"""The "Shipping to Germany: from €4.90, arrives in 2–4 business days" line on the landing
page, from the trusted proxy header named by ``COUNTRY_HEADER``: nothing without the setting
or the header, nothing for a value that is not a country, a plain "doesn't ship" for a
country no zone serves, and never a change to prices, the cart's totals or the cached
sections."""
from __future__ import annotations

import html
import re

import pytest
from factories import make_page, make_product, make_zone

from storefront.landing.services import clear_section_cache

LINE = 'class="ship-to"'


@pytest.fixture()
def shop(db, company):
    company.currency = "EUR"
    db.session.commit()
    make_page(company, [make_product(company, "Linen Shirt", price_cents=4500)], slug="summer")
    make_zone(company, name="Europe", countries=("DE", "FR"), methods=[
        {"name": "Standard", "type": "FLAT_RATE", "amount_cents": 490, "min_days": 2, "max_days": 4},
        {"name": "Free over 50", "type": "FREE", "free_above_cents": 5000, "min_days": 3, "max_days": 4}])
    return company


@pytest.fixture()
def header(app):
    app.config["COUNTRY_HEADER"] = "CF-IPCountry"
    return "CF-IPCountry"


def page(client, country=None, name="CF-IPCountry"):
    response = client.get("/lp/summer", headers={name: country} if country is not None else {})
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def test_a_known_country_gets_its_cost_and_estimate(client, shop, header):
    text = page(client, "DE")
    assert "Shipping to Germany: from €4.90 (free from €50.00), arrives in 2–4 business days." in text


def test_a_country_no_zone_serves_is_told_plainly(client, shop, header):
    assert "This shop doesn't ship to Japan." in page(client, "JP")


def test_unconfigured_the_header_is_never_read(client, shop):
    assert LINE not in page(client, "DE")
    assert LINE not in page(client)


@pytest.mark.parametrize("value", ["", "XX", "T1", "ZZ", "D", "DEU", "<b>", "DE" * 300, "D\u00c9", "１２"])
def test_a_value_that_is_not_a_country_shows_nothing(client, shop, header, value):
    assert LINE not in page(client, value)


def test_absent_header_and_a_shop_without_zones_show_nothing(client, db, company, header):
    make_page(company, [make_product(company, "Mug", price_cents=1200)], slug="summer")
    assert LINE not in page(client, "DE")
    make_zone(company, countries=("US",))
    assert LINE not in page(client)


def test_the_header_changes_no_price_and_stays_out_of_the_cached_sections(app, client, shop, header):
    app.config["SECTION_CACHE_SECONDS"] = 60
    clear_section_cache()
    try:
        german = page(client, "DE")
        french = page(client, "FR")
        japanese = page(client, "JP")
        plain = page(client)
    finally:
        clear_section_cache()
    assert "Shipping to Germany" in german and "Shipping to France" in french
    assert "Germany" not in french and "Germany" not in japanese and LINE not in plain
    for text in (german, french, japanese, plain):
        assert "€45.00" in text


def _checkout_shipping(client, country):
    headers = {"CF-IPCountry": country} if country else {}
    text = client.get("/lp/summer", headers=headers).get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', text).group(1)
    variant = re.search(r'name="variant_id" value="([0-9]+)"', text).group(1)
    added = client.post("/cart/add", data={"variant_id": variant, "quantity": 1},
                        headers={"X-CSRFToken": token, "HX-Request": "true", **headers})
    assert added.status_code == 200
    checkout = client.get("/checkout", headers=headers)
    assert checkout.status_code == 200
    text = html.unescape(checkout.get_data(as_text=True))
    return re.search(r'<fieldset id="shipping-methods".*?</fieldset>', text, re.S).group(0)


def test_checkout_shipping_ignores_the_header(app, shop, header):
    """Checkout prices shipping from the typed address only: before an address is typed, a
    German or Japanese header offers no method and no cost."""
    plain = _checkout_shipping(app.test_client(), None)
    assert "Enter your address to see shipping options." in plain and "€4.90" not in plain
    assert _checkout_shipping(app.test_client(), "DE") == plain == _checkout_shipping(app.test_client(), "JP")


def _drawer_after_adding(client, quantity, country=None):
    headers = {"CF-IPCountry": country} if country else {}
    text = client.get("/lp/summer", headers=headers).get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', text).group(1)
    variant = re.search(r'name="variant_id" value="([0-9]+)"', text).group(1)
    added = client.post("/cart/add", data={"variant_id": variant, "quantity": quantity},
                        headers={"X-CSRFToken": token, "HX-Request": "true", **headers})
    assert added.status_code == 200
    drawer = client.get("/cart/drawer", headers={"HX-Request": "true", **headers})
    assert drawer.status_code == 200
    return html.unescape(added.get_data(as_text=True)), html.unescape(drawer.get_data(as_text=True))


def test_the_drawer_gives_the_carts_shipping_to_the_visitors_country(app, shop, header):
    for body in _drawer_after_adding(app.test_client(), 1, "DE"):  # €45.00: under the free threshold
        assert "Shipping to Germany: from €4.90 (free from €50.00), arrives in 2–4 business days." in body
        assert "Taxes calculated at checkout." in body and "Shipping and taxes" not in body
        assert "€45.00" in body
    for body in _drawer_after_adding(app.test_client(), 2, "DE"):  # €90.00: the free method applies (the days: every offered method's, pricing.ship_to)
        assert "Shipping to Germany: free, arrives in 2–4 business days." in body
    for body in _drawer_after_adding(app.test_client(), 1, "JP"):
        assert "This shop doesn't ship to Japan." in body


def test_the_drawer_without_a_country_says_shipping_comes_at_checkout(app, shop, header):
    for body in _drawer_after_adding(app.test_client(), 1):
        assert LINE not in body and "Shipping and taxes calculated at checkout." in body
    for body in _drawer_after_adding(app.test_client(), 1, "XX"):
        assert LINE not in body


def test_the_landing_pages_drawer_has_the_line_too(app, shop, header):
    client = app.test_client()
    _drawer_after_adding(client, 1, "FR")
    text = page(client, "FR")
    drawer = text[text.index('id="cart-drawer-body"'):]
    assert "Shipping to France: from €4.90" in drawer
    assert text.count(LINE) == 2  # the page's line and the drawer's
