"""The refusals of POST /checkout/pay name their fields: ``fields`` is always {name: message},
with the very messages the no-JavaScript form shows under each field, and nothing is charged."""
from __future__ import annotations

import html
import re

import pytest
from factories import csrf_token, make_page, make_product

from storefront.cart.models import Cart

HX = {"HX-Request": "true"}
SHOPPER = {"email": "ada@example.com", "phone": "+1 512 974 2000", "first_name": "Ada", "last_name": "Lovelace",
           "address1": "1 Analytical Way", "city": "Austin", "postcode": "78701", "country": "US"}
FIELD_ERROR = re.compile(r'<p class="field-error" id="error-(\w+)">([^<]*)</p>')


@pytest.fixture()
def shopper(client, db, company):
    """A shopper with a tee in the cart on the checkout page; returns the CSRF token."""
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    make_page(company, [tee])
    client.get("/lp/summer-sale")
    token = csrf_token(client, "/lp/summer-sale")
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 1},
                headers={"X-CSRFToken": token, **HX})
    client.get("/checkout")
    return token


def no_js_errors(client, token, form) -> dict[str, str]:
    """The field errors the whole-form POST (JavaScript off) renders for ``form``."""
    response = client.post("/checkout", data={"csrf_token": token, **form})
    assert response.status_code == 422
    return {name: html.unescape(message) for name, message in FIELD_ERROR.findall(response.get_data(as_text=True))}


def refused(client, db, token, form) -> dict:
    response = client.post("/checkout/pay", data={"csrf_token": token, **form},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.execute(db.select(Cart)).scalar_one().payment_intent_id is None  # nothing charged
    return response.get_json()


def test_missing_saved_fields_are_named_with_their_messages(client, db, shopper):
    # The form travels without its fields (only the card), so the saved copy is checked.
    client.post("/checkout/field/email", data={"email": "ada@example.com"}, headers={"X-CSRFToken": shopper, **HX})

    body = refused(client, db, shopper, {})

    assert body["fields"] == {
        "first_name": "First name is required.", "last_name": "Last name is required.",
        "address1": "Address is required.", "city": "City is required.",
        "postcode": "ZIP / postcode is required.", "country": "Country is required.",
    }
    assert body["fields"] == no_js_errors(client, shopper, {"email": "ada@example.com"})


@pytest.mark.parametrize("typed, expected", [
    ({"postcode": ""}, {"postcode": "ZIP / postcode is required."}),
    ({"email": "ada@", "phone": "12"}, {"email": "Enter a valid email address, like name@example.com.",
                                         "phone": "Enter a valid phone number."}),
    ({"email": "", "country": "XX"}, {"email": "Email is required.", "country": "We don't ship to that country yet."}),
], ids=["empty-postcode", "invalid-email-and-phone", "missing-and-invalid"])
def test_fields_sent_with_the_payment_are_named_with_their_messages(client, db, shopper, typed, expected):
    form = {**SHOPPER, **typed}

    body = refused(client, db, shopper, form)

    assert body["fields"] == expected
    assert body["fields"] == no_js_errors(client, shopper, form)
