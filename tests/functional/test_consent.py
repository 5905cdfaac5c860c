"""Capture consent: "Don't save my details" works without JavaScript and over htmx, deletes
what the visit captured, stops capture, and leaves checkout and payment working."""
from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request

import pytest
from factories import make_page, make_product

from storefront.cart.models import Cart
from storefront.checkout.models import Order
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}
ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "address1": "1 Analytical Way",
           "city": "Austin", "postcode": "78701", "country": "US"}


@pytest.fixture()
def shopper(client, db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000, stock=5)
    make_page(company, [tee])
    html = client.get("/lp/summer-sale").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 1}, headers={"X-CSRFToken": csrf, **HX})
    page = client.get("/checkout").get_data(as_text=True)
    return {"csrf": csrf, "ref": re.search(r'data-ref="([0-9a-f]+)"', page).group(1), "page": page}


def capture(client, shopper, name, value):
    return client.post(f"/checkout/field/{name}", data={name: value}, headers={"X-CSRFToken": shopper["csrf"], **HX})


def send_events(client, shopper, *names):
    now = int(time.time() * 1000)
    body = {"csrf": shopper["csrf"], "ref": shopper["ref"], "sent_at": now,
            "events": [{"type": "FOCUS", "field": n, "at": now} for n in names]}
    return client.post("/checkout/events", data=json.dumps(body), content_type="text/plain")


def count(db, model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()


def captured_lead(client, db, shopper):
    send_events(client, shopper, "email")
    capture(client, shopper, "email", "ada@example.com")
    capture(client, shopper, "phone", "(512) 555-0134")
    send_events(client, shopper, "phone")
    lead = db.session.execute(db.select(Lead)).scalar_one()
    db.session.add(AbandonmentAnalysis(company_id=lead.company_id, lead_id=lead.id, reason="UNKNOWN"))
    db.session.add(LeadNote(company_id=lead.company_id, lead_id=lead.id, body="call back"))
    db.session.commit()
    assert count(db, FieldEvent) == 2 and count(db, LeadActivity) >= 2
    return lead


def test_notice_and_a_real_form_without_javascript(shopper):
    page = shopper["page"]
    assert "We save your details as you type" in page
    form = re.search(r'<form id="capture-consent-form" action="/checkout/consent" method="post"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(1) and 'hx-post="/checkout/consent"' in form.group(0)
    # The button sits by the contact fields but submits the consent form, not the checkout.
    contact = page[page.index("<legend>Contact</legend>"):page.index('id="field-email"')]
    assert '<button type="submit" form="capture-consent-form"' in contact
    assert page.index('id="capture-consent-form"') > page.index("</form>")  # never nested


def test_opt_out_without_htmx_deletes_what_was_captured(client, db, shopper):
    captured_lead(client, db, shopper)

    response = client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})

    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout")
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert db.session.get(Visit, cart.visit_id).capture_opt_out is True
    for model in (Lead, LeadActivity, LeadNote, FieldEvent, AbandonmentAnalysis):
        assert count(db, model) == 0, model.__name__
    # The cart keeps what the order ships to.
    assert cart.checkout_fields["email"] == "ada@example.com" and cart.checkout_fields["phone"] == "+15125550134"
    page = client.get("/checkout").get_data(as_text=True)
    assert "We won't save your details" in page and "data-capture-opt-out" in page
    assert 'form="capture-consent-form"' not in page
    assert 'value="ada@example.com"' in page


def test_opt_out_over_htmx_swaps_the_notice(client, db, shopper):
    captured_lead(client, db, shopper)

    response = client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]}, headers=HX)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert html.strip().startswith('<div id="capture-consent"') and "data-capture-opt-out" in html
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Your details won't be saved."
    assert count(db, Lead) == 0 and count(db, FieldEvent) == 0


def test_no_lead_and_no_events_after_opting_out(client, db, shopper):
    client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})

    assert "is-valid" in capture(client, shopper, "email", "ada@example.com").get_data(as_text=True)
    capture(client, shopper, "phone", "(512) 555-0134")
    form = {"csrf_token": shopper["csrf"], "email": "ada@example.com", "phone": "", **ADDRESS}
    assert client.post("/checkout", data=form).status_code == 303  # the no-JS submit too
    assert send_events(client, shopper, "city").status_code == 204

    assert count(db, Lead) == 0 and count(db, FieldEvent) == 0
    assert db.session.execute(db.select(Cart)).scalar_one().checkout_fields["city"] == "Austin"


def test_a_lead_known_from_before_is_kept_but_detached(client, db, company, shopper):
    earlier = Lead(company_id=company.id, email="ada@example.com", status="CONTACTED")
    db.session.add(earlier)
    db.session.commit()
    capture(client, shopper, "email", "ada@example.com")
    assert db.session.execute(db.select(Lead)).scalar_one().cart_id is not None

    client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})

    kept = db.session.execute(db.select(Lead)).scalar_one()
    assert kept.id == earlier.id and kept.status == "CONTACTED"
    assert kept.cart_id is None and kept.visit_id is None and kept.cart_snapshot == {}


def test_opt_out_needs_csrf_and_a_cart(client, db, shopper):
    assert client.post("/checkout/consent", data={}).status_code == 400
    client.delete_cookie("sf_cart")
    response = client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    expired = client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]}, headers=HX)
    assert expired.status_code == 409 and "expired" in expired.get_data(as_text=True)
    assert db.session.execute(db.select(Visit.capture_opt_out)).scalar_one() is False


def card_token(base: str, number: str = "4242424242424242") -> str:
    body = urllib.parse.urlencode({"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
                                   "card[cvc]": "123", "key": "pk_test_localstripe"}).encode()
    with urllib.request.urlopen(base + "/v1/tokens", data=body, timeout=5) as response:
        return json.load(response)["card"]["id"]


def test_checkout_still_completes_to_payment(client, db, company, shopper, localstripe):
    earlier = Lead(company_id=company.id, email="ada@example.com", status="NEW")
    db.session.add(earlier)
    db.session.commit()
    client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})
    for name, value in {"email": "ada@example.com", **ADDRESS}.items():
        capture(client, shopper, name, value)

    form = {"csrf_token": shopper["csrf"], "email": "ada@example.com", **ADDRESS,
            "card_id": card_token(localstripe)}
    response = client.post("/checkout/pay", data=form, headers={"Accept": "application/json"})

    assert response.status_code == 200 and response.get_json()["status"] == "succeeded"
    order = db.session.execute(db.select(Order)).scalar_one()
    assert order.email == "ada@example.com" and order.shipping_address["city"] == "Austin"
    # No lead was made, and the one known from before was not converted by this visit.
    assert order.lead_id is None
    assert db.session.get(Lead, earlier.id).status == "NEW" and count(db, Lead) == 1
