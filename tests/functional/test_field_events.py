"""POST /checkout/events: batches from field-events.js are validated strictly; a valid one is
stored for the shopper's own cart, visit and lead, never with a value; anything malformed is
refused whole and stores nothing."""
from __future__ import annotations

import json
import re
import time

import pytest
from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.checkout.models import Customer
from storefront.leads.models import FieldEvent, Lead
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}
BEACON = "text/plain;charset=UTF-8"


def now_ms() -> int:
    return int(time.time() * 1000)


def open_checkout(client, company, slug="summer-sale", title="Classic Tee"):
    """A shopper with a cart of ``company`` on the checkout page: csrf token and page ref."""
    tee = make_product(company, title, price_cents=2000, handle=f"{slug}-tee")
    make_page(company, [tee], slug=slug)
    client.get(f"/lp/{slug}?utm_source=newsletter")
    html = client.get(f"/lp/{slug}").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 2}, headers={"X-CSRFToken": csrf, **HX})
    page = client.get("/checkout").get_data(as_text=True)
    ref = re.search(r'data-ref="([0-9a-f]+)"', page).group(1)
    return {"csrf": csrf, "ref": ref, "page": page}


@pytest.fixture()
def shopper(client, db, company):
    return open_checkout(client, company)


def batch(shopper, events, **overrides):
    body = {"csrf": shopper["csrf"], "ref": shopper["ref"], "sent_at": now_ms(), "events": events}
    body.update(overrides)
    return body


def post(client, body, content_type=BEACON, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/checkout/events", data=data, content_type=content_type, headers=headers)


def event(kind="FOCUS", field="email", **extra):
    return {"type": kind, "field": field, "at": now_ms(), **extra}


def stored(db) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(FieldEvent)).scalar()


def test_checkout_page_includes_the_script_with_its_ref(shopper):
    assert 'src="/static/js/field-events.js"' in shopper["page"]
    assert 'data-fields="email:customer phone:customer' in shopper["page"]
    assert len(shopper["ref"]) == 24


def test_valid_batch_is_stored_without_values(client, db, company, shopper):
    events = [
        event("FOCUS", "email", group="customer", has_value=False, length=0),
        event("INPUT", "email", has_value=True, length=9),
        event("PASTE", "email", has_value=True, length=17),
        event("CLEAR", "email"),
        event("AUTOCOMPLETE", "email", has_value=True, length=17),
        event("BLUR", "email", has_value=True, length=17, focus_ms=5400),
        event("VALIDATION_ERROR", "email", has_value=True, length=12, valid=False,
              error="Enter a valid email address, like name@example.com."),
        event("VALIDATION_SUCCESS", "email", has_value=True, length=17, valid=True),
        event("FOCUS", "card_number", group="payment", has_value=False, length=0),
        event("BLUR", "card_number", focus_ms=3000),
        event("TAB_HIDDEN", "page", group="page"),
        event("TAB_VISIBLE", "page"),
        event("EXIT_INTENT", "page"),
    ]

    response = post(client, batch(shopper, events))

    assert response.status_code == 204 and response.headers["Cache-Control"] == "no-store"
    rows = db.session.execute(db.select(FieldEvent).order_by(FieldEvent.id)).scalars().all()
    cart = db.session.execute(db.select(Cart)).scalar_one()
    assert [r.event_type for r in rows] == [e["type"] for e in events]
    assert {(r.company_id, r.cart_id, r.visit_id) for r in rows} == {(company.id, cart.id, cart.visit_id)}
    assert rows[5].focus_ms == 5400 and rows[5].value_length == 17 and rows[5].has_value
    assert rows[6].error_message == "Enter a valid email address, like name@example.com." and rows[6].is_valid is False
    assert {r.field_group for r in rows} == {"customer", "payment", "page"}
    # A FieldEvent has no column that could hold a value.
    assert not {"value", "raw", "text"} & set(FieldEvent.__table__.columns.keys())


def test_events_reach_the_lead_and_move_its_scores(client, db, shopper):
    post(client, batch(shopper, [event("FOCUS", "email")]))  # before the lead exists
    client.post("/checkout/field/email", data={"email": "ada@example.com"}, headers={"X-CSRFToken": shopper["csrf"], **HX})
    lead = db.session.execute(db.select(Lead)).scalar_one()
    assert db.session.execute(db.select(FieldEvent)).scalar_one().lead_id == lead.id  # linked on creation
    engagement = lead.engagement_score

    response = post(client, batch(shopper, [event("BLUR", "email", has_value=True, length=15, focus_ms=40_000),
                                            event("FOCUS", "phone"), event("FOCUS", "card_number")]))

    assert response.status_code == 204
    db.session.refresh(lead)
    assert {e.lead_id for e in db.session.execute(db.select(FieldEvent)).scalars()} == {lead.id}
    assert lead.last_active_field == "card_number"
    assert lead.engagement_score > engagement and lead.purchase_intent > 0


def test_json_content_type_and_skewed_client_clock(client, db, shopper):
    skewed = now_ms() - 3 * 60 * 60 * 1000  # the shopper's clock is 3 hours behind
    body = batch(shopper, [{"type": "FOCUS", "field": "city", "at": skewed - 2000}], sent_at=skewed)

    assert post(client, body, content_type="application/json").status_code == 204
    row = db.session.execute(db.select(FieldEvent)).scalar_one()
    # Stored at server time minus the 2 s the client saw between the event and the send.
    assert abs(time.time() - row.occurred_at.timestamp() - 2) < 5


@pytest.mark.parametrize(("body", "reason"), [
    ("{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    ("[]", "exactly"),
    (json.dumps({"csrf": "x", "ref": "y", "sent_at": 1, "events": [], "more": 1}), "exactly"),
])
def test_malformed_json_is_refused(client, db, shopper, body, reason):
    response = post(client, body)
    assert response.status_code == 400 and reason in response.get_json()["error"]
    assert stored(db) == 0


def test_oversized_body_is_refused(client, db, shopper):
    events = [event("FOCUS", "email")] * 90
    body = batch(shopper, events, ref=shopper["ref"])
    padded = json.dumps(body).replace('"events"', '"events"' + " " * 33_000, 1)

    response = post(client, padded)

    assert response.status_code == 413 and response.get_json() == {"error": "batch too large: at most 32 KB"}
    assert stored(db) == 0


def test_too_many_or_no_events_are_refused(client, db, shopper):
    assert post(client, batch(shopper, [event("FOCUS", "email")] * 101)).status_code == 400
    assert post(client, batch(shopper, [])).status_code == 400
    assert stored(db) == 0


@pytest.mark.parametrize("bad", [
    event("KEYSTROKE", "email"),
    event("FOCUS", "password"),
    event("FOCUS", "email", value="ada@example.com"),                  # a value smuggled in
    event("BLUR", "email", has_value=True, length=15, text="ada@example.com"),
    event("INPUT", "card_number"),                                     # card: focus/blur only
    event("FOCUS", "card_number", has_value=True, length=16),          # nothing of a card
    event("FOCUS", "email", group="payment"),
    event("FOCUS", "page"),                                            # page: page types only
    event("TAB_HIDDEN", "email"),
    event("BLUR", "email", focus_ms=-1),
    event("BLUR", "email", focus_ms=True),
    event("INPUT", "email", has_value=True, length=5000),
    event("INPUT", "email", has_value=True, length=0),
    event("INPUT", "email", has_value="yes", length=3),
    event("FOCUS", "email", error="Enter a valid email address, like name@example.com."),
    event("VALIDATION_ERROR", "email", error="x" * 201),
    {"type": "FOCUS", "field": "email", "at": now_ms() + 2 * 86_400_000},
    {"type": "FOCUS", "field": "email", "at": "yesterday"},
    {"type": "FOCUS", "field": "email"},
    "FOCUS email",
])
def test_each_malformed_event_fails_the_whole_batch(client, db, shopper, bad):
    response = post(client, batch(shopper, [event("FOCUS", "city"), bad]))
    assert response.status_code == 400 and response.get_json()["error"]
    assert stored(db) == 0


def test_sent_at_far_away_is_refused(client, db, shopper):
    assert post(client, batch(shopper, [event()], sent_at=now_ms() - 3 * 86_400_000)).status_code == 400
    assert stored(db) == 0


def test_an_error_text_that_is_not_ours_is_masked(client, db, shopper):
    bad = event("VALIDATION_ERROR", "email", has_value=True, length=15, error="call +1 512 555 0134 or ada@example.com")
    assert post(client, batch(shopper, [bad])).status_code == 204
    assert db.session.execute(db.select(FieldEvent.error_message)).scalar_one() == "call ***34 or a***@example.com"


def test_bad_csrf_foreign_origin_and_wrong_type_are_refused(client, db, shopper):
    assert post(client, batch(shopper, [event()], csrf="forged")).status_code == 403
    assert post(client, batch(shopper, [event()]), Origin="https://evil.example").status_code == 403
    form = client.post("/checkout/events", data={"events": "x"})
    assert form.status_code == 400
    assert stored(db) == 0
    assert post(client, batch(shopper, [event()]), Origin="http://localhost").status_code == 204


def test_no_cart_or_another_carts_page_is_refused(app, client, db, company, shopper):
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    rival = app.test_client()
    rival_page = open_checkout(rival, other, slug="rival-sale", title="Rival Tee")
    rival_cart = db.session.execute(db.select(Cart).filter_by(company_id=other.id)).scalar_one()

    # This shopper's cookie now names the other merchant's cart; the page was rendered for theirs.
    client.set_cookie("sf_cart", rival_cart.token)
    response = post(client, batch(shopper, [event()]))
    assert response.status_code == 403
    assert stored(db) == 0

    # Without a cart there is no checkout to record.
    client.delete_cookie("sf_cart")
    assert post(client, batch(shopper, [event()])).status_code == 403

    # The other merchant's own page stores its events under its own company, cart and visit.
    assert post(rival, batch(rival_page, [event()])).status_code == 204
    row = db.session.execute(db.select(FieldEvent)).scalar_one()
    assert (row.company_id, row.cart_id, row.visit_id) == (other.id, rival_cart.id, rival_cart.visit_id)
    assert db.session.get(Visit, row.visit_id).company_id == other.id


def test_opted_out_visit_stores_nothing(client, db, shopper):
    client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})
    assert post(client, batch(shopper, [event()])).status_code == 204
    assert stored(db) == 0


def test_rate_limited_per_visit(app, client, db, shopper):
    app.config["RATELIMIT_EVENTS"] = "3/minute"
    codes = [post(client, batch(shopper, [event()])).status_code for _ in range(4)]
    assert codes == [204, 204, 204, 429]
    assert stored(db) == 3


def test_returning_customer_is_linked(client, db, company, shopper):
    customer = Customer(company_id=company.id, email="ada@example.com")
    db.session.add(customer)
    db.session.commit()
    client.post("/checkout/field/email", data={"email": "ada@example.com"}, headers={"X-CSRFToken": shopper["csrf"], **HX})
    assert db.session.execute(db.select(Lead)).scalar_one().customer_id == customer.id
