"""The leads admin at /admin/leads: the list (filters, search, sort, pages), bulk status, the
detail page (timeline, analysis, notes, status), erasure, the streamed CSV export and
tenancy (another merchant's lead answers 404 everywhere, and its ids are ignored in bulk).

Through the Flask client, on both paths: plain requests (no JavaScript) and htmx ones.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from factories import make_user, sign_in
from sqlalchemy import event, text

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.checkout.models import Customer, Order
from storefront.csv_export import safe_cell
from storefront.landing.models import LandingPage
from storefront.leads.export import HEADERS
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.types import new_token
from storefront.visits.models import Visit

HX = {"HX-Request": "true"}
T0 = datetime(2025, 6, 10, 15, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------- helpers


@pytest.fixture()
def shop(db, company):
    company.timezone = "America/New_York"
    db.session.commit()
    return company


@pytest.fixture()
def admin(client, shop):
    make_user(shop)
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture()
def rival(db):
    """Another merchant with a lead of its own."""
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    make_user(other, email="boss@rival.test")
    lead = make_lead(other, email="secret@rival.test", first_name="Rivalina", estimated_value_cents=999)
    return {"company": other, "lead_id": lead.id}


def make_lead(company, **fields) -> Lead:
    fields.setdefault("created_at", T0)
    fields.setdefault("updated_at", fields["created_at"])
    lead = Lead(company_id=company.id, **fields)
    from storefront.extensions import db

    db.session.add(lead)
    db.session.commit()
    return lead


def make_visit(company, page=None, campaign=None) -> Visit:
    from storefront.extensions import db

    visit = Visit(token=new_token(), company_id=company.id, visitor_id=new_token()[:20],
                  landing_page_id=page.id if page else None, utm_campaign=campaign)
    db.session.add(visit)
    db.session.commit()
    return visit


def make_landing(company, slug, title) -> LandingPage:
    from storefront.extensions import db

    page = LandingPage(company_id=company.id, slug=slug, title=title, status="published")
    db.session.add(page)
    db.session.commit()
    return page


def csrf(client, path="/admin/leads") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def listed(response) -> list[str]:
    """The lead names shown in the list, in order."""
    html = response.get_data(as_text=True)
    return [re.sub(r"\s+", " ", name).strip()
            for name in re.findall(r'<th scope="row" class="cell-lead">\s*<a href="[^"]+">([^<]+)</a>', html)]


# ---------------------------------------------------------------------------- the list


def test_needs_sign_in(client, shop):
    assert client.get("/admin/leads").status_code == 302
    assert client.get("/admin/leads/export.csv").status_code == 302


def test_list_shows_own_leads_and_the_nav_entry(admin, shop, rival):
    make_lead(shop, email="ada@example.com", first_name="Ada", last_name="Lovelace",
              estimated_value_cents=1250, completion_pct=44, last_active_field="address1")
    response = admin.get("/admin/leads")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert listed(response) == ["Ada Lovelace"]
    assert "ada@example.com" in html and "$12.50" in html and "44%" in html
    assert "Stopped at Address" in html
    assert "Rivalina" not in html and "secret@rival.test" not in html
    assert '<a href="/admin/leads"' in html and ">Leads</a>" in html  # the nav entry


def test_filters(admin, db, shop):
    summer = make_landing(shop, "summer", "Summer Sale")
    winter = make_landing(shop, "winter", "Winter Sale")
    june = make_visit(shop, summer, campaign="June")
    july = make_visit(shop, winter, campaign="july")
    a = make_lead(shop, email="a@example.com", first_name="Ann", status="NEW", source="CHECKOUT_ABANDON",
                  landing_page_id=summer.id, visit_id=june.id, estimated_value_cents=500,
                  abandonment_reason="PRICE_SHOCK")
    b = make_lead(shop, phone="+15129742000", first_name="Bob", status="CONTACTED", source="FUNNEL",
                  landing_page_id=winter.id, visit_id=july.id, estimated_value_cents=2500,
                  created_at=T0 - timedelta(days=3))
    c = make_lead(shop, email="c@example.com", phone="+15125550100", first_name="Cy", status="NEW",
                  source="CHECKOUT_ABANDON", estimated_value_cents=10000, created_at=T0 + timedelta(days=3))
    db.session.add(AbandonmentAnalysis(company_id=shop.id, lead_id=c.id, reason="FORM_FATIGUE"))
    db.session.commit()
    del a, b, c

    def names(**args):
        response = admin.get("/admin/leads", query_string=args)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return sorted(listed(response))

    assert names() == ["Ann", "Bob", "Cy"]
    assert names(status="NEW") == ["Ann", "Cy"]
    assert names(source="FUNNEL") == ["Bob"]
    assert names(page_id=summer.id) == ["Ann"]
    assert names(campaign="june") == ["Ann"]  # case-insensitive
    assert names(campaign="JULY") == ["Bob"]
    assert names(has_email="1") == ["Ann", "Cy"]
    assert names(has_phone="1") == ["Bob", "Cy"]
    assert names(has_email="1", has_phone="1") == ["Cy"]
    assert names(min="20", max="100.00") == ["Bob", "Cy"]
    assert names(min="5", max="5") == ["Ann"]
    assert names(reason="PRICE_SHOCK") == ["Ann"]
    assert names(reason="FORM_FATIGUE") == ["Cy"]  # from the analysis
    assert names(status="BOGUS") == ["Ann", "Bob", "Cy"]  # an unknown choice means "any"
    # Dates are days in the merchant's timezone (New York).
    assert names(**{"from": "2025-06-10", "to": "2025-06-10"}) == ["Ann"]
    assert names(**{"from": "2025-06-08"}) == ["Ann", "Cy"]
    assert names(to="2025-06-07") == ["Bob"]


def test_dates_are_the_merchants_days(admin, shop):
    # 03:30 UTC on June 1st is still May 31st in New York.
    make_lead(shop, email="late@example.com", first_name="Late", created_at=datetime(2025, 6, 1, 3, 30, tzinfo=UTC))
    assert listed(admin.get("/admin/leads?from=2025-05-31&to=2025-05-31")) == ["Late"]
    assert listed(admin.get("/admin/leads?from=2025-06-01")) == []


def test_search_by_email_phone_and_name(admin, shop):
    make_lead(shop, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    make_lead(shop, phone="+15129742000", first_name="Grace", last_name="Hopper")
    make_lead(shop, email="alan@turing.test")
    assert listed(admin.get("/admin/leads?q=ADA@example")) == ["Ada Lovelace"]
    assert listed(admin.get("/admin/leads?q=(512) 974-2000")) == ["Grace Hopper"]
    assert listed(admin.get("/admin/leads?q=grace hopper")) == ["Grace Hopper"]
    assert listed(admin.get("/admin/leads?q=turing")) == ["alan@turing.test"]
    assert listed(admin.get("/admin/leads?q=100%")) == []  # LIKE wildcards are escaped
    # Active search: htmx gets only the results block, and caches keep the two apart.
    response = admin.get("/admin/leads?q=ada", headers=HX)
    html = response.get_data(as_text=True)
    assert 'id="lead-results"' in html and "<html" not in html and 'role="search"' not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_sort_and_pages(admin, db, shop):
    for n in range(30):
        make_lead(shop, email=f"s{n:02d}@example.com", estimated_value_cents=n * 100,
                  created_at=T0 + timedelta(minutes=n), last_activity_at=T0 - timedelta(minutes=n))
    first = admin.get("/admin/leads")
    assert listed(first)[0] == "s29@example.com" and len(listed(first)) == 25
    assert "Showing 1–25 of 30 leads" in first.get_data(as_text=True)
    second = admin.get("/admin/leads?page=2")
    assert len(listed(second)) == 5 and listed(second)[-1] == "s00@example.com"
    assert listed(admin.get("/admin/leads?page=99")) == listed(second)  # past the end: the last page
    assert listed(admin.get("/admin/leads?sort=value&dir=asc"))[0] == "s00@example.com"
    assert listed(admin.get("/admin/leads?sort=value"))[0] == "s29@example.com"
    assert listed(admin.get("/admin/leads?sort=activity"))[0] == "s00@example.com"


def test_bad_filter_input_is_shown_and_kept(admin, shop):
    make_lead(shop, email="a@example.com")
    response = admin.get("/admin/leads?min=abc&from=2025-13-45&max=1e9999")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an amount such as 25 or 25.50." in html and "Enter a date as YYYY-MM-DD" in html
    assert 'value="abc"' in html and 'value="2025-13-45"' in html  # nothing typed is lost
    assert listed(response) == ["a@example.com"]  # the unreadable filters are left out
    reversed_range = admin.get("/admin/leads?min=50&max=10")
    assert reversed_range.status_code == 422 and "The maximum is below the minimum." in reversed_range.get_data(as_text=True)


def statements(app, db, call) -> int:
    """SQL statements of one request, on a fresh session as in production."""
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        with app.app_context():
            assert call().status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(seen)


def test_list_queries_do_not_grow_with_rows(app, admin, db, shop):
    page = make_landing(shop, "p", "Page")
    for n in range(3):
        make_lead(shop, email=f"few{n}@example.com", landing_page_id=page.id,
                  visit_id=make_visit(shop, page, "c").id)
    few = statements(app, db, lambda: admin.get("/admin/leads"))
    for n in range(20):
        make_lead(shop, email=f"many{n}@example.com", landing_page_id=page.id,
                  visit_id=make_visit(shop, page, f"c{n}").id)
    # The user, the count, the page, and the form's landing pages and campaigns.
    assert statements(app, db, lambda: admin.get("/admin/leads")) == few <= 6


# ---------------------------------------------------------------------------- bulk status


def test_bulk_status_change(admin, db, shop, rival):
    new = [make_lead(shop, email=f"n{n}@example.com") for n in range(3)]
    converted = make_lead(shop, email="paid@example.com", status="CONVERTED")
    token = csrf(admin)
    ids = [str(lead.id) for lead in new] + [str(converted.id), str(rival["lead_id"]), "junk", "-4"]
    response = admin.post("/admin/leads/bulk-status", data={
        "csrf_token": token, "status": "CONTACTED", "lead_id": ids, "query": "status=NEW&sort=value"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/leads?status=NEW&sort=value&dir=desc"
    message = admin.get("/admin/leads").get_data(as_text=True)
    assert "3 leads moved to Contacted." in message
    assert f"Not allowed for #{converted.id} (Converted)" in message
    assert "1 selected lead was not found." in message
    db.session.expire_all()
    assert {lead.status for lead in db.session.scalars(db.select(Lead).where(Lead.company_id == shop.id))
            if lead.id != converted.id} == {"CONTACTED"}
    assert db.session.get(Lead, converted.id).status == "CONVERTED"
    assert db.session.get(Lead, rival["lead_id"]).status == "NEW"  # another merchant's: untouched
    changes = db.session.scalars(db.select(LeadActivity).filter_by(type="STATUS_CHANGED")).all()
    assert len(changes) == 3 and {a.company_id for a in changes} == {shop.id}


def test_bulk_status_over_htmx_and_its_errors(admin, db, shop):
    lead = make_lead(shop, email="one@example.com")
    token = csrf(admin)
    empty = admin.post("/admin/leads/bulk-status", headers=HX,
                       data={"csrf_token": token, "status": "LOST", "query": ""})
    assert empty.status_code == 422 and "Select at least one lead." in empty.get_data(as_text=True)
    no_status = admin.post("/admin/leads/bulk-status", data={
        "csrf_token": token, "status": "", "lead_id": [str(lead.id)], "query": ""})
    html = no_status.get_data(as_text=True)
    assert no_status.status_code == 422 and "Choose the status to set." in html
    assert f'value="{lead.id}" id="select-{lead.id}" checked' in html  # the selection is kept
    converted = admin.post("/admin/leads/bulk-status", data={
        "csrf_token": token, "status": "CONVERTED", "lead_id": [str(lead.id)], "query": ""}, headers=HX)
    assert "Not allowed for" in converted.get_data(as_text=True)
    done = admin.post("/admin/leads/bulk-status", headers=HX, data={
        "csrf_token": token, "status": "LOST", "lead_id": [str(lead.id)], "query": "q=one"})
    assert done.status_code == 200 and "1 lead moved to Lost." in done.headers["HX-Trigger"]
    assert 'id="lead-results"' in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "LOST"


def test_bulk_form_refuses_bad_input_on_both_paths(admin, db, shop, rival):
    lead = make_lead(shop, email="one@example.com")
    token = csrf(admin)
    page = admin.get("/admin/leads").get_data(as_text=True)
    assert '<select id="bulk-status" name="status"' in page and '<option value="">Choose a status…</option>' in page
    cases = [({"status": "BOGUS", "lead_id": [str(lead.id)]}, "Choose the status to set."),
             ({"status": "ＬＯＳＴ", "lead_id": [str(lead.id)]}, "Choose the status to set."),
             ({"lead_id": [str(lead.id)]}, "Choose the status to set."),
             ({"status": "LOST", "lead_id": ["٣", "junk", "-1", "99999999999999999999"]}, "Select at least one lead."),
             ({"status": "LOST"}, "Select at least one lead.")]
    for data, message in cases:
        for headers in ({}, HX):
            response = admin.post("/admin/leads/bulk-status", headers=headers,
                                  data={"csrf_token": token, "query": "", **data})
            html = response.get_data(as_text=True)
            assert response.status_code == 422 and message in html, data
            assert ("<html" in html) is not bool(headers)
            if headers:
                assert message in response.headers["HX-Trigger"]
    theirs = admin.post("/admin/leads/bulk-status", data={"csrf_token": token, "status": "LOST", "query": "",
                                                          "lead_id": [str(rival["lead_id"])]})
    assert theirs.status_code == 303
    assert "1 selected lead was not found." in admin.get("/admin/leads").get_data(as_text=True)
    assert admin.post("/admin/leads/bulk-status", data={"csrf_token": token, "status": "LOST",
                                                        "lead_id": [str(lead.id) + "\x00"]}).status_code == 400
    assert admin.post("/admin/leads/bulk-status", data={"status": "LOST", "lead_id": [str(lead.id)]}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "NEW" and db.session.get(Lead, rival["lead_id"]).status == "NEW"


# ---------------------------------------------------------------------------- the detail


def rich_lead(db, shop) -> Lead:
    """A lead with a visit, field events, activities, an analysis, a note, a customer and an order."""
    page = make_landing(shop, "summer", "Summer Sale")
    visit = make_visit(shop, page, "june")
    cart = Cart(token=new_token(), company_id=shop.id, currency="USD", visit_id=visit.id,
                checkout_fields={"email": "grace@example.com", "phone": "+15129742000", "first_name": "Grace"})
    db.session.add(cart)
    db.session.commit()
    customer = Customer(company_id=shop.id, email="grace@example.com", first_name="Grace", last_name="Hopper")
    db.session.add(customer)
    db.session.commit()
    lead = make_lead(
        shop, email="grace@example.com", phone="+15129742000", first_name="Grace", last_name="Hopper",
        address={"address1": "1 Navy Yard Road", "city": "Arlington", "postcode": "22202", "country": "US"},
        source_detail="https://mail.example/?to=grace@example.com", landing_page_id=page.id,
        visit_id=visit.id, cart_id=cart.id, customer_id=customer.id,
        captured_fields=["email", "phone", "first_name"], completion_pct=33, last_active_field="address1",
        estimated_value_cents=1875, cart_value_cents=4500, last_activity_at=T0 + timedelta(minutes=3),
        cart_snapshot={"lines": [{"title": "Classic Tee", "variant_title": "M", "quantity": 2,
                                  "unit_price_cents": 2250}], "value_cents": 4500, "currency": "USD",
                       "email": "grace@example.com", "ship_to": {"name": "Grace Hopper"}})
    at = T0
    for kind, field_name, extra in (
        ("FOCUS", "email", {}),
        ("BLUR", "email", {"has_value": True, "value_length": 17, "focus_ms": 4200}),
        ("FOCUS", "phone", {}),
        ("VALIDATION_ERROR", "phone", {"error_message": "grace@example.com typed in the phone field"}),
        ("BLUR", "phone", {"has_value": True, "value_length": 12, "focus_ms": 3100}),
        ("FOCUS", "address1", {}),
    ):
        at += timedelta(seconds=20)
        db.session.add(FieldEvent(company_id=shop.id, visit_id=visit.id, lead_id=None if kind == "FOCUS" and field_name == "email" else lead.id,
                                  event_type=kind, field_name=field_name,
                                  field_group="customer" if field_name != "address1" else "shipping",
                                  occurred_at=at, **extra))
    db.session.add_all([
        LeadActivity(company_id=shop.id, lead_id=lead.id, type="EMAIL_CAPTURED", payload={"created": True},
                     created_at=T0 + timedelta(seconds=30)),
        LeadActivity(company_id=shop.id, lead_id=lead.id, type="FIELD_CAPTURED",
                     payload={"fields": ["phone"], "email": "grace@example.com"}, created_at=T0 + timedelta(seconds=90)),
        AbandonmentAnalysis(company_id=shop.id, lead_id=lead.id, abandoned_stage="CHECKOUT",
                            abandoned_section="shipping", last_active_field="address1",
                            completion_pct=33, reason="FORM_FATIGUE",
                            intervention="Shorten the form: ask for the address later.",
                            validation_errors={"phone": {"count": 1, "message": "grace@example.com is not a phone"}},
                            cart_value_cents=4500, item_count=2),
        LeadNote(company_id=shop.id, lead_id=lead.id, body="Called Grace Hopper at 512-974-2000."),
    ])
    db.session.add(Order(company_id=shop.id, number="1001", token=new_token(), cart_id=cart.id,
                         customer_id=customer.id, lead_id=lead.id, email="grace@example.com",
                         currency="USD", subtotal_cents=4500, total_cents=4500, amount_paid_cents=4500,
                         created_at=T0 + timedelta(days=1)))
    db.session.commit()
    return lead


def test_detail_page(admin, db, shop):
    lead = rich_lead(db, shop)
    response = admin.get(f"/admin/leads/{lead.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Grace Hopper</h1>" in html
    assert re.search(r'data-testid="captured-fields">Email, Phone, First name<', html)
    assert re.search(r'data-testid="completion">33%<', html)
    assert re.search(r'data-testid="last-active-field">Address<', html)
    assert re.search(r'data-testid="estimated-value">\$18.75<', html)
    assert "Summer Sale" in html and "june" in html
    # The analysis, with its intervention.
    assert 'data-testid="reason">Form fatigue<' in html
    assert "Shorten the form: ask for the address later." in html
    assert "Phone: 1" in html.split('id="analysis-title"')[1].split("</section>")[0]  # errors per field
    # The cart snapshot.
    assert "Classic Tee (M) × 2" in html and "$45.00" in html
    # The timeline: field events and activities merged in time order, in New York time.
    timeline = html.split('class="lead-timeline"')[1].split("</ol>")[0]
    steps = re.findall(r'<span class="timeline-what">(.*?)</span>', timeline)
    steps = [re.sub(r"<[^>]+>", "", s) for s in steps]
    assert steps == ["Email: Focused", "Email captured", "Email: Left the field", "Phone: Focused",
                     "Phone: Invalid", "Field captured", "Phone: Left the field", "Address: Focused"]
    assert "2025-06-10 11:00:20" in timeline  # 15:00 UTC is 11:00 in New York
    assert "4.2 s in the field" in timeline
    # Field by field.
    assert re.search(r'<tr class="is-last-field">\s*<th scope="row">Address', html)
    # The customer and their order; the note.
    assert "#1001" in html and "grace@example.com" in html
    assert "Called Grace Hopper at 512-974-2000." in html
    # Status: only the allowed moves are offered.
    select = html.split('id="lead-new-status"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', select) == [
        "CONTACTED", "ENGAGED", "QUALIFIED", "LOST", "UNQUALIFIED", "NURTURE"]


def test_detail_queries_are_bounded(app, admin, db, shop):
    lead = rich_lead(db, shop)
    before = statements(app, db, lambda: admin.get(f"/admin/leads/{lead.id}"))
    for n in range(30):
        db.session.add(FieldEvent(company_id=shop.id, lead_id=lead.id, event_type="FOCUS", field_name="city",
                                  field_group="shipping", occurred_at=T0 + timedelta(minutes=n)))
        db.session.add(LeadNote(company_id=shop.id, lead_id=lead.id, body=f"note {n}"))
    db.session.commit()
    assert statements(app, db, lambda: admin.get(f"/admin/leads/{lead.id}")) == before <= 10


def test_status_change(admin, db, shop):
    lead = make_lead(shop, email="a@example.com")
    token = csrf(admin, f"/admin/leads/{lead.id}")
    refused = admin.post(f"/admin/leads/{lead.id}/status", data={"csrf_token": token, "status": "OPPORTUNITY"})
    assert refused.status_code == 422 and "can&#39;t move to Opportunity" in refused.get_data(as_text=True)
    system_only = admin.post(f"/admin/leads/{lead.id}/status", headers=HX,
                             data={"csrf_token": token, "status": "CONVERTED"})
    assert system_only.status_code == 422 and "only when its order is placed" in system_only.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "NEW"
    done = admin.post(f"/admin/leads/{lead.id}/status", data={"csrf_token": token, "status": "CONTACTED"})
    assert done.status_code == 303 and done.headers["Location"] == f"/admin/leads/{lead.id}"
    page = admin.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert "Status set to Contacted." in page and "New → Contacted" in page
    htmx = admin.post(f"/admin/leads/{lead.id}/status", headers=HX, data={"csrf_token": token, "status": "ENGAGED"})
    assert htmx.status_code == 200 and 'id="lead-detail"' in htmx.get_data(as_text=True)
    assert "<html" not in htmx.get_data(as_text=True)


def test_notes(admin, db, shop):
    lead = make_lead(shop, email="a@example.com")
    token = csrf(admin, f"/admin/leads/{lead.id}")
    added = admin.post(f"/admin/leads/{lead.id}/notes", headers=HX,
                       data={"csrf_token": token, "body": "  Prefers <b>SMS</b>.\r\nCall after 5.  "})
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and html.lstrip().startswith('<section id="lead-notes"')
    assert "Prefers &lt;b&gt;SMS&lt;/b&gt;.\nCall after 5." in html  # escaped, trimmed
    assert "owner@acme.test" in html and "Note added." in added.headers["HX-Trigger"]
    note = db.session.scalars(db.select(LeadNote)).one()
    assert db.session.scalars(db.select(LeadActivity).filter_by(type="NOTE_ADDED")).one().payload == {
        "note_id": note.id, "user_id": note.user_id}

    empty = admin.post(f"/admin/leads/{lead.id}/notes", headers=HX, data={"csrf_token": token, "body": "   "})
    assert empty.status_code == 422 and "Write a note first." in empty.get_data(as_text=True)
    long_text = "x" * 5001
    too_long = admin.post(f"/admin/leads/{lead.id}/notes", data={"csrf_token": token, "body": long_text})
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "A note has at most 5000 characters." in html
    assert long_text in html  # what was typed is kept
    exactly = admin.post(f"/admin/leads/{lead.id}/notes", data={"csrf_token": token, "body": "y" * 5000})
    assert exactly.status_code == 303 and exactly.headers["Location"] == f"/admin/leads/{lead.id}#notes"
    assert db.session.scalar(db.select(db.func.count(LeadNote.id))) == 2


def test_note_form_errors_on_both_paths(admin, db, shop, rival):
    lead = make_lead(shop, email="a@example.com")
    token = csrf(admin, f"/admin/leads/{lead.id}")
    page = admin.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert '<textarea id="note-body" name="body"' in page and 'maxlength="5000"' in page

    # No JavaScript: the whole page, the error on the input, what was typed kept.
    missing = admin.post(f"/admin/leads/{lead.id}/notes", data={"csrf_token": token})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "<html" in html and "Write a note first." in html
    assert 'id="note-body-error"' in html and 'aria-invalid="true"' in html
    long_text = "Line one\n" + "z" * 5000
    too_long = admin.post(f"/admin/leads/{lead.id}/notes", headers=HX, data={"csrf_token": token, "body": long_text})
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and html.lstrip().startswith('<section id="lead-notes"')
    assert "A note has at most 5000 characters." in html and long_text in html
    assert "A note has at most 5000 characters." in too_long.headers["HX-Trigger"]

    nul = admin.post(f"/admin/leads/{lead.id}/notes", data={"csrf_token": token, "body": "call\x00me"})
    assert nul.status_code == 400
    forged = admin.post(f"/admin/leads/{lead.id}/notes", data={"body": "no token"})
    assert forged.status_code == 400
    theirs = admin.post(f"/admin/leads/{rival['lead_id']}/notes", data={"csrf_token": token, "body": "hello"})
    assert theirs.status_code == 404
    huge_id = admin.post("/admin/leads/99999999999999999999/notes", data={"csrf_token": token, "body": "hi"})
    assert huge_id.status_code == 404
    assert db.session.scalar(db.select(db.func.count(LeadNote.id))) == 0


def test_status_form_refuses_unknown_and_missing_values(admin, db, shop, rival):
    lead = make_lead(shop, email="a@example.com")
    token = csrf(admin, f"/admin/leads/{lead.id}")
    for value in (None, "", "BOGUS", "Ｎｅｗ", "1" * 500):
        data = {"csrf_token": token} if value is None else {"csrf_token": token, "status": value}
        response = admin.post(f"/admin/leads/{lead.id}/status", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, value
        assert "Choose the status to move the lead to." in html and 'aria-invalid="true"' in html
    over_htmx = admin.post(f"/admin/leads/{lead.id}/status", headers=HX, data={"csrf_token": token, "status": "X"})
    assert over_htmx.status_code == 422 and "<html" not in over_htmx.get_data(as_text=True)
    assert "Choose the status" in over_htmx.headers["HX-Trigger"]
    theirs = admin.post(f"/admin/leads/{rival['lead_id']}/status", data={"csrf_token": token, "status": "LOST"})
    assert theirs.status_code == 404
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "NEW"
    assert db.session.get(Lead, rival["lead_id"]).status == "NEW"


# ---------------------------------------------------------------------------- erasure


def _everything_about(db, lead_id: int) -> str:
    """Every column of the lead row, its notes, activities, field events and analysis, as text."""
    parts = []
    for table, column in (("leads", "id"), ("lead_notes", "lead_id"), ("lead_activities", "lead_id"),
                          ("field_events", "lead_id"), ("abandonment_analyses", "lead_id")):
        for row in db.session.execute(text(f"SELECT * FROM {table} WHERE {column} = :id"), {"id": lead_id}):
            parts.extend(str(value) for value in row)
    lead = db.session.get(Lead, lead_id)
    for row in db.session.execute(text("SELECT * FROM field_events WHERE visit_id = :v"), {"v": lead.visit_id}):
        parts.extend(str(value) for value in row)
    return "\n".join(parts).lower()


PERSONAL = ("grace@example.com", "grace", "hopper", "+15129742000", "5129742000", "974-2000",
            "navy yard", "arlington", "22202")


def test_erase_leaves_nothing_personal(admin, db, shop):
    lead = rich_lead(db, shop)
    before = _everything_about(db, lead.id)
    assert all(value in before for value in PERSONAL if value != "974-2000")  # the test sees them first
    token = csrf(admin, f"/admin/leads/{lead.id}")

    confirm = admin.post(f"/admin/leads/{lead.id}/erase", data={"csrf_token": token})
    assert confirm.status_code == 200 and "Yes, erase the personal data" in confirm.get_data(as_text=True)
    assert admin.get(f"/admin/leads/{lead.id}/erase").status_code == 200
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).erased_at is None  # asked, not done

    done = admin.post(f"/admin/leads/{lead.id}/erase", data={"csrf_token": token, "confirmed": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    after = _everything_about(db, lead.id)
    assert [value for value in PERSONAL if value in after] == []
    erased = db.session.get(Lead, lead.id)
    assert erased.erased_at is not None
    assert db.session.scalar(db.select(db.func.count(LeadNote.id)).where(LeadNote.lead_id == lead.id)) == 0
    # The anonymous counts stay.
    assert (erased.status, erased.source, erased.estimated_value_cents, erased.cart_value_cents,
            erased.completion_pct, erased.created_at) == ("NEW", "CHECKOUT_ABANDON", 1875, 4500, 33, T0)
    assert erased.landing_page_id is not None and erased.captured_fields == ["email", "phone", "first_name"]
    assert erased.cart_snapshot["lines"][0]["quantity"] == 2 and erased.cart_snapshot["value_cents"] == 4500
    activities = db.session.scalars(db.select(LeadActivity).filter_by(lead_id=lead.id)).all()
    assert {a.type for a in activities} == {"EMAIL_CAPTURED", "FIELD_CAPTURED"}
    assert db.session.scalars(db.select(AbandonmentAnalysis)).one().validation_errors == {"phone": {"count": 1}}
    # The page says so; the list still counts it, anonymously.
    page = admin.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert "This lead was erased" in page and "Grace" not in page and "Add a note" not in page
    assert listed(admin.get("/admin/leads")) == [f"Erased lead #{lead.id}"]
    again = admin.post(f"/admin/leads/{lead.id}/erase", data={"csrf_token": token, "confirmed": "yes"})
    assert again.status_code == 303
    assert "already erased" in admin.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    refused = admin.post(f"/admin/leads/{lead.id}/notes", data={"csrf_token": token, "body": "Grace called"})
    assert refused.status_code == 422


def test_erase_over_htmx_and_only_by_an_owner(app, admin, db, shop):
    lead = make_lead(shop, email="a@example.com", phone="+15125550100")
    token = csrf(admin, f"/admin/leads/{lead.id}")
    staff_client = app.test_client()
    make_user(shop, email="staff@acme.test", role="staff")
    sign_in(staff_client, email="staff@acme.test")
    staff_token = csrf(staff_client, f"/admin/leads/{lead.id}")
    assert "Only an owner can erase" in staff_client.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert staff_client.post(f"/admin/leads/{lead.id}/erase",
                             data={"csrf_token": staff_token, "confirmed": "yes"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).email == "a@example.com"

    response = admin.post(f"/admin/leads/{lead.id}/erase", headers=HX, data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 200 and "This lead was erased" in response.get_data(as_text=True)
    assert "Lead erased" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).email is None


# ---------------------------------------------------------------------------- tenancy


def test_another_merchants_lead_is_not_found_everywhere(admin, db, shop, rival):
    lead_id = rival["lead_id"]
    token = csrf(admin)
    assert admin.get(f"/admin/leads/{lead_id}").status_code == 404
    assert admin.get(f"/admin/leads/{lead_id}/erase").status_code == 404
    for path, data in ((f"/admin/leads/{lead_id}/notes", {"body": "hi"}),
                       (f"/admin/leads/{lead_id}/status", {"status": "LOST"}),
                       (f"/admin/leads/{lead_id}/erase", {"confirmed": "yes"})):
        assert admin.post(path, data={"csrf_token": token, **data}).status_code == 404
        assert admin.post(path, headers=HX, data={"csrf_token": token, **data}).status_code == 404
    assert admin.get("/admin/leads/99999").status_code == 404
    db.session.expire_all()
    other = db.session.get(Lead, lead_id)
    assert (other.status, other.email, other.erased_at) == ("NEW", "secret@rival.test", None)
    assert db.session.scalar(db.select(db.func.count(LeadNote.id))) == 0
    export = admin.get("/admin/leads/export.csv").get_data(as_text=True)
    assert "secret@rival.test" not in export and len(export.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- export


def test_export_streams_the_filtered_rows(admin, db, shop, rival):
    page = make_landing(shop, "summer", "Summer Sale")
    visit = make_visit(shop, page, "june")
    rows = [{"company_id": shop.id, "email": f"buyer{n:03d}@example.com", "status": "NEW" if n % 3 else "LOST",
             "source": "CHECKOUT_ABANDON", "estimated_value_cents": n * 10, "completion_pct": n % 101,
             "captured_fields": ["email"], "landing_page_id": page.id, "visit_id": visit.id,
             "created_at": T0 + timedelta(minutes=n), "updated_at": T0 + timedelta(minutes=n)}
            for n in range(300)]
    db.session.execute(db.insert(Lead), rows)
    db.session.commit()

    response = admin.get("/admin/leads/export.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store, private"
    assert re.match(r'attachment; filename="leads-acme-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"])
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(table[0]) == HEADERS and len(table) == 301
    newest = dict(zip(HEADERS, table[1], strict=True))
    assert newest["email"] == "buyer299@example.com" and newest["estimated_value"] == "29.90"
    assert newest["landing_page"] == "Summer Sale" and newest["utm_campaign"] == "june"
    assert newest["created_at"] == "2025-06-10T15:59:00-04:00" and newest["currency"] == "USD"
    assert "secret@rival.test" not in response.get_data(as_text=True)

    lost = list(csv.reader(io.StringIO(admin.get("/admin/leads/export.csv?status=LOST&sort=value&dir=asc").get_data(as_text=True))))
    assert len(lost) == 101 and lost[1][HEADERS.index("email")] == "buyer000@example.com"


def test_export_escapes_spreadsheet_formulas(admin, shop):
    make_lead(shop, email="x@example.com", phone="+15125550100", first_name='=HYPERLINK("http://evil","x")',
              last_name="@SUM(A1)", source_detail="-2+3", address={})
    make_lead(shop, email="y@example.com", first_name="\tTabbed", last_name="\rReturn", source_detail="+cmd")
    table = list(csv.reader(io.StringIO(admin.get("/admin/leads/export.csv?sort=created&dir=asc").get_data(as_text=True))))
    cells = [dict(zip(HEADERS, row, strict=True)) for row in table[1:]]
    first, second = sorted(cells, key=lambda c: c["email"])
    assert first["first_name"] == "'=HYPERLINK(\"http://evil\",\"x\")"
    assert first["last_name"] == "'@SUM(A1)" and first["source_detail"] == "'-2+3"
    assert first["phone"] == "'+15125550100"
    assert second["first_name"] == "'\tTabbed" and second["last_name"] == "'\rReturn"
    assert second["source_detail"] == "'+cmd"


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), (12, "12"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected
