"""Pure rules: money in minor units, checkout field validation, cart totals."""
from __future__ import annotations

import pytest

from storefront.cart.info import CartInfo, LineInfo
from storefront.checkout.fields import missing_required, validate_field
from storefront.money import MoneyError, format_money, parse_amount


@pytest.mark.parametrize("text, currency, cents", [
    ("19.99", "USD", 1999), (".5", "USD", 50), ("750", "USD", 75000), ("1,250.00", "USD", 125000),
    ("500", "JPY", 500), ("1.234", "KWD", 1234), (" 3 ", "GBP", 300),
])
def test_parse_amount(text, currency, cents):
    assert parse_amount(text, currency) == cents


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.999", "NaN", "Infinity", "1e400", "19,99", "1,2",
                                  "١٢", "１２", "1e3", "+5", "1.2.3", ".", "١,٢٥٠"])
def test_parse_amount_refuses(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "USD")


def test_format_money():
    assert format_money(1999, "USD") == "$19.99"
    assert format_money(500, "JPY") == "¥500"
    assert format_money(123456, "EUR", "de_DE") == "1.234,56\xa0€"


@pytest.mark.parametrize("name, raw, value, error", [
    ("email", " Jo@Example.COM ", "Jo@example.com", None),
    ("email", "jo@", "jo@", "Enter a valid email"),
    ("phone", "(512) 555-0134", "+15125550134", None),
    ("phone", "+44 20 7946 0958", "+442079460958", None),
    ("phone", "555", "555", "Enter a valid phone"),
    ("country", "us", "US", None),
    ("country", "ZZ", "ZZ", "don't ship"),
    ("first_name", "", "", "First name is required"),
    ("address2", "", "", None),
])
def test_validate_field(name, raw, value, error):
    result = validate_field(name, raw)
    assert result.value == value
    assert (result.error is None) if error is None else error in result.error


def test_phone_uses_the_country_for_national_numbers():
    assert validate_field("phone", "020 7946 0958", "GB").value == "+442079460958"


def test_validate_field_unknown_name():
    with pytest.raises(KeyError):
        validate_field("password", "x")


def test_missing_required():
    assert missing_required({"email": "a@b.co", "first_name": "A"}) == [
        "last_name", "address1", "city", "postcode", "country"]


def line(quantity, price, added=None, available=None):
    return LineInfo(variant_id=1, product_title="T", variant_label="", sku=None, image_src=None,
                    image_alt="", quantity=quantity, unit_price_cents=price,
                    added_price_cents=added if added is not None else price, compare_at_cents=None,
                    available=available)


def test_cart_totals_use_current_prices_in_cents():
    info = CartInfo("USD", (line(2, 1999), line(1, 4500, added=4000, available=0)))
    assert info.subtotal_cents == 8498 and info.item_count == 3
    assert info.any_price_changed and info.any_short_of_stock
    assert CartInfo("USD", ()).is_empty
