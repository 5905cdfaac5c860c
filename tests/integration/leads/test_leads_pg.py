"""Leads against the real database: concurrent captures never duplicate a lead
(PostgreSQL: SQLite ignores FOR UPDATE and serialises writers anyway), and the
phone-then-email merge keeps one lead with the whole timeline."""
from __future__ import annotations

import json
import re
import threading
import time

import pytest
from factories import make_page, make_product

from storefront.cart.models import Cart
from storefront.leads.models import FieldEvent, Lead, LeadActivity, LeadNote

HX = {"HX-Request": "true"}
COOKIES = ("session", "sf_visit", "sf_vid", "sf_cart")


def shopper(app, variant_id, slug="summer-sale"):
    """A new shopper on the checkout page: (client, csrf token, page ref)."""
    client = app.test_client()
    html = client.get(f"/lp/{slug}").get_data(as_text=True)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": 1}, headers={"X-CSRFToken": csrf, **HX})
    page = client.get("/checkout").get_data(as_text=True)
    return client, csrf, re.search(r'data-ref="([0-9a-f]+)"', page).group(1)


def tab_of(app, client):
    """Another tab of the same browser: a client with the same cookies."""
    tab = app.test_client()
    for name in COOKIES:
        cookie = client.get_cookie(name)
        if cookie is not None:
            tab.set_cookie(name, cookie.value)
    return tab


def all_at_once(calls):
    """Run the callables from their own threads, released together; returns their results."""
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


def capture(client, csrf, name, value):
    return lambda: client.post(f"/checkout/field/{name}", data={name: value}, headers={"X-CSRFToken": csrf, **HX})


@pytest.fixture()
def variant(db, company):
    tee = make_product(company, "Classic Tee", price_cents=2000)
    make_page(company, [tee])
    return tee.variants[0].id


@pytest.mark.postgres
def test_two_tabs_capture_at_once_make_one_lead(app, db, variant, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    for round_ in range(5):
        client, csrf, _ref = shopper(app, variant)
        tabs = [tab_of(app, client) for _ in range(6)]
        email = f"ada{round_}@example.com"
        calls = [capture(tab, csrf, "email", email) if i % 2 == 0 else capture(tab, csrf, "phone", "(512) 555-0134")
                 for i, tab in enumerate(tabs)]

        responses = all_at_once(calls)

        assert [r.status_code for r in responses] == [200] * len(tabs)
        db.session.rollback()
        cart_id = db.session.execute(db.select(Cart.id).order_by(Cart.id.desc()).limit(1)).scalar_one()
        leads = db.session.execute(db.select(Lead).filter_by(cart_id=cart_id)).scalars().all()
        assert len(leads) == 1, f"round {round_}: {len(leads)} leads for one cart"
        assert leads[0].email == email and leads[0].phone == "+15125550134"
        created = [a for a in db.session.execute(db.select(LeadActivity).filter_by(lead_id=leads[0].id)).scalars()
                   if a.payload.get("created")]
        assert len(created) == 1


@pytest.mark.postgres
def test_tabs_repeating_an_unchanged_phone_make_one_lead(app, db, variant, is_postgres):
    """The cart row is not written when the fields don't change, so only the lock that
    capture_lead takes before an insert keeps the tabs from making a lead each."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite ignores FOR UPDATE")
    from storefront.types import utcnow

    for round_ in range(5):
        client, csrf, _ref = shopper(app, variant)
        capture(client, csrf, "phone", "(512) 555-0134")()
        db.session.rollback()
        cart_id = db.session.execute(db.select(Cart.id).order_by(Cart.id.desc()).limit(1)).scalar_one()
        # The lead was erased (an admin did it): the next capture makes a new one.
        db.session.execute(db.update(Lead).where(Lead.cart_id == cart_id)
                           .values(erased_at=utcnow(), phone=None))
        db.session.commit()
        tabs = [tab_of(app, client) for _ in range(6)]

        responses = all_at_once([capture(tab, csrf, "phone", "(512) 555-0134") for tab in tabs])

        assert [r.status_code for r in responses] == [200] * len(tabs)
        db.session.rollback()
        live = db.session.execute(db.select(Lead).filter_by(cart_id=cart_id, erased_at=None)).scalars().all()
        assert len(live) == 1, f"round {round_}: {len(live)} live leads for one cart"


@pytest.mark.postgres
def test_two_devices_type_the_same_email_at_once(app, db, variant, is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): concurrent writers")
    for round_ in range(3):
        devices = [shopper(app, variant) for _ in range(4)]
        email = f"grace{round_}@example.com"

        responses = all_at_once([capture(client, csrf, "email", email) for client, csrf, _ in devices])

        assert [r.status_code for r in responses] == [200] * len(devices)
        db.session.rollback()
        assert len(db.session.execute(db.select(Lead).filter_by(email=email)).scalars().all()) == 1


def test_phone_then_email_merges_into_the_known_lead(app, db, company, variant):
    known = Lead(company_id=company.id, email="ada@example.com", status="CONTACTED", first_name="Ada")
    db.session.add(known)
    db.session.commit()
    db.session.add(LeadNote(company_id=company.id, lead_id=known.id, body="met at the fair"))
    db.session.commit()
    client, csrf, ref = shopper(app, variant)
    now = int(time.time() * 1000)
    client.post("/checkout/events", content_type="text/plain", data=json.dumps(
        {"csrf": csrf, "ref": ref, "sent_at": now, "events": [{"type": "FOCUS", "field": "phone", "at": now}]}))
    capture(client, csrf, "phone", "(512) 555-0134")()
    capture(client, csrf, "last_name", "Lovelace")()
    phone_lead = db.session.execute(db.select(Lead).filter_by(email=None)).scalar_one()
    phone_lead_id = phone_lead.id
    assert phone_lead.phone == "+15125550134" and phone_lead.id != known.id

    response = capture(client, csrf, "email", "ada@example.com")()

    assert response.status_code == 200
    db.session.rollback()
    leads = db.session.execute(db.select(Lead)).scalars().all()
    assert [lead.id for lead in leads] == [known.id]
    survivor = leads[0]
    assert survivor.phone == "+15125550134" and survivor.last_name == "Lovelace"
    assert survivor.first_name == "Ada" and survivor.status == "CONTACTED"
    assert survivor.cart_id is not None and survivor.completion_pct == 3 * 100 // 9
    types = [a.type for a in db.session.execute(
        db.select(LeadActivity).filter_by(lead_id=known.id).order_by(LeadActivity.id)).scalars()]
    assert "PHONE_CAPTURED" in types and "FIELD_CAPTURED" in types and "EMAIL_CAPTURED" in types
    email_activity = db.session.execute(
        db.select(LeadActivity).filter_by(lead_id=known.id, type="EMAIL_CAPTURED")).scalar_one()
    assert email_activity.payload["merged_lead_id"] == phone_lead_id
    assert {e.lead_id for e in db.session.execute(db.select(FieldEvent)).scalars()} == {known.id}
    assert db.session.execute(db.select(LeadNote.lead_id)).scalar_one() == known.id
    assert db.session.execute(db.select(LeadActivity).filter_by(lead_id=phone_lead_id)).first() is None
