"""Consent to texts and calls at checkout: two unticked boxes under the phone field, captured
over htmx and with the form (JavaScript off), recorded with the time and the exact words
shown; unticking or changing the phone withdraws; a value no checkbox sends is refused.
The recovery flow's SMS and voice stages read this consent when they send."""
from __future__ import annotations

import html
import re

import pytest
from factories import make_page, make_product

from storefront.checkout.phone_consent import consent_text
from storefront.notifications.consent import has_consent
from storefront.notifications.models import SMS, VOICE, PhoneConsent

HX = {"HX-Request": "true"}
PHONE = "+15125550134"
ADDRESS = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "address1": "1 Analytical Way",
           "city": "Austin", "postcode": "78701", "country": "US"}


@pytest.fixture()
def shopper(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    make_page(company, [tee])
    page = client.get("/lp/summer-sale").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 1}, headers={"X-CSRFToken": csrf, **HX})
    return {"csrf": csrf}


def box(client, shopper, name, value=None):
    data = {name: value} if value is not None else {}
    return client.post(f"/checkout/field/{name}", data=data, headers={"X-CSRFToken": shopper["csrf"], **HX})


def field(client, shopper, name, value):
    return client.post(f"/checkout/field/{name}", data={name: value}, headers={"X-CSRFToken": shopper["csrf"], **HX})


def consents(db):
    db.session.expire_all()
    return db.session.execute(db.select(PhoneConsent).order_by(PhoneConsent.id)).scalars().all()


def test_the_boxes_are_unticked_and_say_the_words_that_are_stored(client, db, company, shopper):
    page = client.get("/checkout").get_data(as_text=True)
    for name in ("sms_consent", "voice_consent"):
        tag = re.search(rf'<input type="checkbox" id="input-{name}"[^>]*>', page, re.S).group(0)
        assert "checked" not in tag
        assert html.escape(consent_text(name, company.name)) in page

    field(client, shopper, "phone", "(512) 555-0134")
    response = box(client, shopper, "sms_consent", "yes")
    assert response.status_code == 200 and "checked" in response.get_data(as_text=True)
    [row] = consents(db)
    assert (row.phone, row.channel, row.source) == (PHONE, SMS, "CHECKOUT")
    assert row.consent_text == consent_text("sms_consent", company.name) and row.consented_at is not None
    assert html.escape(row.consent_text) in page  # word for word what the page showed
    assert not has_consent(company.id, PHONE, VOICE)  # calls are a box of their own
    assert 'id="input-sms_consent"' in client.get("/checkout").get_data(as_text=True)
    assert re.search(r'id="input-sms_consent"[^>]*checked', client.get("/checkout").get_data(as_text=True))

    response = box(client, shopper, "sms_consent")  # unticked: the box sends nothing
    assert response.status_code == 200 and "checked" not in response.get_data(as_text=True)
    [row] = consents(db)
    assert row.withdrawn_at is not None and row.withdrawal_source == "CHECKOUT"
    assert not has_consent(company.id, PHONE)
    # Ticking again, replayed: one consent, live, its history kept.
    box(client, shopper, "sms_consent", "yes")
    box(client, shopper, "sms_consent", "yes")
    [row] = consents(db)
    assert row.withdrawn_at is None and [e["event"] for e in row.history] == ["CONSENTED", "WITHDRAWN", "CONSENTED"]


def test_ticked_before_the_phone_is_typed_and_moved_when_it_changes(client, db, company, shopper):
    assert box(client, shopper, "voice_consent", "yes").status_code == 200
    assert consents(db) == []  # no number yet
    field(client, shopper, "phone", "(512) 555-0134")
    assert has_consent(company.id, PHONE, VOICE)
    field(client, shopper, "phone", "(512) 555-0199")
    assert not has_consent(company.id, PHONE, VOICE) and has_consent(company.id, "+15125550199", VOICE)
    field(client, shopper, "phone", "")
    assert not has_consent(company.id, "+15125550199", VOICE)


def test_without_javascript_the_boxes_travel_with_the_form(client, db, company, shopper):
    form = {**ADDRESS, "phone": "(512) 555-0134", "sms_consent": "yes", "voice_consent": "yes",
            "csrf_token": shopper["csrf"]}
    response = client.post("/checkout", data=form)
    assert response.status_code == 303
    assert has_consent(company.id, PHONE, SMS) and has_consent(company.id, PHONE, VOICE)
    page = client.get("/checkout").get_data(as_text=True)
    assert re.search(r'id="input-voice_consent"[^>]*checked', page)

    form.pop("voice_consent")  # unticked: absent from the form
    assert client.post("/checkout", data=form).status_code == 303
    assert has_consent(company.id, PHONE, SMS) and not has_consent(company.id, PHONE, VOICE)


@pytest.mark.parametrize("value", ["on", "YES", "yes " * 50, "1"])
def test_a_value_no_checkbox_sends_is_refused_and_changes_nothing(client, db, company, shopper, value):
    field(client, shopper, "phone", "(512) 555-0134")
    response = box(client, shopper, "sms_consent", value)
    assert response.status_code == 422 and "Tick the box" in response.get_data(as_text=True)
    form = {**ADDRESS, "phone": PHONE, "sms_consent": value, "csrf_token": shopper["csrf"]}
    response = client.post("/checkout", data=form)
    assert response.status_code == 422 and 'id="error-sms_consent"' in response.get_data(as_text=True)
    assert consents(db) == []


def test_a_nul_in_the_box_is_a_clear_4xx(client, db, shopper):
    response = box(client, shopper, "sms_consent", "yes\x00")
    assert 400 <= response.status_code < 500
    assert consents(db) == []


def test_an_unknown_box_is_404_and_no_cart_is_409(app, client, db, shopper):
    assert box(client, shopper, "email_consent", "yes").status_code == 404
    other = app.test_client()
    page = other.get("/lp/summer-sale").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = other.post("/checkout/field/sms_consent", data={"sms_consent": "yes"},
                          headers={"X-CSRFToken": csrf, **HX})
    assert response.status_code == 409
