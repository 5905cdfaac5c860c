"""The form kit (storefront.forms) and the admin list page: each field type reads what a
merchant types into its stored unit with its own message, shows the typed text again after
an error, and reads a missing input as empty; a form skips the inputs it does not use and
takes errors found later. A page of an empty list counts from 0.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from storefront.admin.kit import Page
from storefront.forms import (
    OWN_WORDS,
    AdminForm,
    Choice,
    Flag,
    Ids,
    Lines,
    LocalDateTime,
    Money,
    Percent,
    Text,
    WholeNumber,
    to_id,
)
from storefront.money import amount_text, percent_text


class Sample(AdminForm):
    name = Text("Name", required=True, max_length=10)
    price = Money("Price", required=True)
    deposit = Money("Deposit", positive=True)
    rate = Percent("Rate")
    tax = Percent("Tax", decimals=4, allow_zero=True)
    count = WholeNumber("Count", low=1, high=500)
    starts = LocalDateTime("Starts")
    gap = LocalDateTime("Gap", message=OWN_WORDS)
    cities = Lines("Cities", max_items=3, item_length=5, item=str.upper)
    size = Choice("Size", choices=[("S", "Small"), ("M", "Medium")])
    gift = Choice("Gift", coerce=to_id, choices=[(7, "Mug")], message="Choose the gift from your products.")
    ids = Ids("Products", message="Choose each product from your catalogue.")
    on = Flag("On")

    def skipped(self) -> set[str]:
        return set() if self.on.data else {"deposit"}


VALID = {"name": " Tee ", "price": "19.99", "size": "S", "gift": "7"}


@pytest.fixture()
def ctx():
    app = Flask(__name__)
    with app.test_request_context():
        yield


def submit(currency="USD", timezone="America/New_York", **typed) -> Sample:
    form = Sample(MultiDict({**VALID, **typed}), currency=currency, timezone=timezone)
    form.validate()
    return form


def first_error(form, name) -> str | None:
    return form[name].errors[0] if form[name].errors else None


def test_a_valid_form_in_stored_units(ctx):
    form = submit(deposit="5", rate="12.5", tax="8.875 %", count="12", starts="2030-07-01T09:00",
                  cities="Paris; lyon\nNice", ids=["3", "3", "4"], on="1")
    assert form.errors == {}
    assert (form.name.data, form.price.data, form.deposit.data, form.rate.data, form.tax.data) == (
        "Tee", 1999, 500, 1250, 88750)
    assert form.count.data == 12 and form.starts.data == datetime(2030, 7, 1, 13, 0, tzinfo=UTC)
    assert form.cities.data == ["PARIS", "LYON", "NICE"] and form.ids.data == [3, 4]
    assert (form.size.data, form.gift.data, form.on.data) == ("S", 7, True)


@pytest.mark.parametrize("typed, name, message", [
    ({"name": ""}, "name", "Name is required."),
    ({"name": "N" * 11}, "name", "Name is too long: at most 10 characters."),
    ({"price": ""}, "price", "Price is required."),
    ({"price": "abc"}, "price", "Price must be an amount of USD of 0 or more, with at most 2 decimals, e.g. 12.50."),
    ({"price": "1.999"}, "price", "at most 2 decimals"),
    ({"deposit": "0", "on": "1"}, "deposit", "Deposit must be more than 0."),
    ({"rate": "0"}, "rate", "Rate must be a percentage from more than 0 to 100, with at most 2 decimals."),
    ({"rate": "12.345"}, "rate", "with at most 2 decimals"),
    ({"tax": "101"}, "tax", "Tax must be a percentage from 0 to 100, with at most 4 decimals."),
    ({"count": "²"}, "count", "Count must be a whole number from 1 to 500."),
    ({"count": "2147483648"}, "count", "from 1 to 500"),
    ({"starts": "2030-02-30T10:00"}, "starts", "Starts must be a date and time, like 2025-07-01 09:00."),
    ({"gap": "2030-03-10T02:30"}, "gap", "2030-03-10 02:30 does not exist in America/New_York"),
    ({"cities": "a\nb\nc\nd"}, "cities", "Cities: at most 3 entries."),
    ({"cities": "Amsterdam"}, "cities", "Cities: each entry can be at most 5 characters."),
    ({"size": "XL"}, "size", "Choose a size from the list."),
    ({"gift": "8"}, "gift", "Choose the gift from your products."),
    ({"gift": "١"}, "gift", "Choose the gift from your products."),
    ({"ids": ["1", "two"]}, "ids", "Choose each product from your catalogue."),
])
def test_each_field_refuses_with_its_message_and_keeps_the_text(ctx, typed, name, message):
    form = submit(**typed)

    assert message in first_error(form, name)
    assert not form.validate()
    value = typed[name]
    if isinstance(value, str) and name not in ("size", "gift"):
        assert form[name]._value() == value.strip()  # shown again as typed


def test_money_follows_the_currency(ctx):
    assert submit(currency="JPY", price="750").price.data == 750
    assert "with at most 0 decimals, e.g. 1250." in first_error(submit(currency="JPY", price="7.5"), "price")
    assert submit(currency="KWD", price="1.234").price.data == 1234


def test_stored_values_are_shown_as_merchants_type_them(ctx):
    stored = {"name": "Tee", "price": 1999, "rate": 1250, "tax": 200000, "count": 5,
              "starts": datetime(2031, 1, 15, 23, 0, tzinfo=UTC), "cities": ["PARIS", "NICE"], "ids": [3]}
    form = Sample(formdata=None, data=stored, currency="USD", timezone="America/New_York")

    assert [form[n]._value() for n in ("name", "price", "rate", "tax", "count", "starts", "cities")] == [
        "Tee", "19.99", "12.5", "20", "5", "2031-01-15T18:00", "PARIS\nNICE"]
    assert form.ids.chosen() == ["3"]


def test_an_input_missing_from_the_post_is_empty_not_the_stored_value(ctx):
    form = Sample(MultiDict({"price": "1"}), data={"name": "Stored", "on": True, "cities": ["X"]}, currency="USD")
    form.validate()
    assert form.name.data == "" and first_error(form, "name") == "Name is required."
    assert form.on.data is False and form.cities.data == []


def test_skipped_inputs_are_not_validated_and_late_errors_are_kept(ctx):
    off = submit(deposit="-1")
    assert off.validate() and off.errors == {}  # "deposit" is not used while "on" is off
    on = submit(deposit="-1", on="1")
    assert "Deposit must be an amount" in first_error(on, "deposit")

    off.fail("name", "Name is taken.")
    off.fail(None, "Try again.")
    assert off.name.errors == ["Name is taken."] and off.form_errors == ["Try again."]


def test_ids_refuse_an_id_outside_their_choices(ctx):
    form = Sample(MultiDict({**VALID, "ids": ["3", "9"]}), currency="USD")
    form.ids.choices = [(3, "Tee"), (4, "Mug")]
    assert not form.validate() and first_error(form, "ids") == "Choose each product from your catalogue."
    assert form.ids.chosen() == ["3", "9"]  # the boxes stay ticked as sent


def test_form_text_helpers():
    assert amount_text(1999, "USD") == "19.99" and amount_text(750, "JPY") == "750" and amount_text(None, "USD") == ""
    assert percent_text(1250) == "12.5" and percent_text(1000) == "10" and percent_text(88750, 4) == "8.875"


def test_a_page_of_an_empty_list_counts_from_zero():
    empty = Page([], 1, 1, 0)
    assert (empty.first, empty.last) == (0, 0)
    middle, last = Page(["a"] * 25, 2, 3, 51), Page(["z"], 3, 3, 51)
    assert (middle.first, middle.last, last.first, last.last) == (26, 50, 51, 51)
