"""The analytics dashboard at /admin/analytics: KPIs, funnel, series and tables equal to the
counts of the traffic behind them, the period before, with and without htmx, SVG charts
with a title, a description and a data table, CSV exports, bad ranges and filters refused
with a message, another merchant's page 404, and no statement on the event log."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from analytics_data import Traffic
from factories import make_page, make_product, make_user, sign_in
from sqlalchemy import event

from storefront.accounts.models import Company
from storefront.analytics.rollups import refresh
from storefront.types import utcnow

HX = {"HX-Request": "true"}


@pytest.fixture()
def admin(client, company, db):
    company.timezone = "America/New_York"
    db.session.commit()
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture()
def traffic(db, company):
    product = make_product(company)
    page = make_page(company, [product])
    data = Traffic(21)
    now = utcnow()
    data.shoppers(company, page, product.variants[0].id, now - timedelta(days=4), hours=90, n=80)
    recent = sum(data.expected.values(), Counter())
    # The week before: the "previous period" of the last 7 days.
    data.shoppers(company, page, product.variants[0].id, now - timedelta(days=11), hours=72, n=40)
    refresh(now=now)
    return data, page, recent


def _numbers(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def test_the_dashboard_shows_the_rollups_with_the_period_before(admin, traffic):
    data, page, recent = traffic

    response = admin.get("/admin/analytics?range=7d")
    body = response.get_data(as_text=True)
    text = _numbers(body)

    assert response.status_code == 200 and "HX-Request" in response.headers.get("Vary", "")
    assert f"Page views {recent['page_views']} " in text
    assert f"Conversion rate {recent['orders'] / recent['visits'] * 100:.1f}% " in text
    assert "vs before" in text
    # The funnel table: each step's count.
    for label, key in (("Viewed the page", "visits"), ("Added to cart", "add_to_cart_visits"),
                       ("Started checkout", "checkout_starts"), ("Ordered", "orders")):
        assert f"{label} {recent[key]} " in text
    # Charts: SVG with a title and a description, beside a data table.
    assert body.count("<svg") == body.count("<title id=") == body.count("<desc id=") >= 2
    assert body.count("chart-target") == 4  # add to cart 25 and 35 %, checkout 18 %, order 12 %
    assert "Summer Sale" in text


def test_htmx_gets_only_the_results(admin, traffic):
    response = admin.get("/admin/analytics?range=30d", headers=HX)
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="analytics-results">') and "<html" not in body
    assert "Last 30 days" in body


def test_a_custom_range_and_a_page_filter(admin, traffic, db):
    data, page, recent = traffic
    today = utcnow().date()
    response = admin.get(f"/admin/analytics?range=custom&start={today - timedelta(days=20)}&end={today}&page={page.id}")

    text = _numbers(response.get_data(as_text=True))
    total = sum(data.expected.values(), Counter())
    assert response.status_code == 200 and f"Page views {total['page_views']} " in text


@pytest.mark.parametrize("query, message", [
    ("range=custom&start=2026-05-10&end=2026-05-01", "The end date is before the start date."),
    ("range=custom&start=2020-01-01&end=2026-01-01", "at most 731 days"),
    ("range=custom&start=yesterday&end=2026-01-01", "Enter the start date as YYYY-MM-DD."),
    ("range=custom&start=2026-02-30&end=2026-03-01", "does not exist"),
    ("range=forever", "Choose today"),
])
def test_bad_ranges_are_refused_with_a_message(admin, query, message):
    for headers in ({}, HX):
        response = admin.get(f"/admin/analytics?{query}", headers=headers)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert admin.get(f"/admin/analytics/export.csv?table=pages&{query}").status_code == 422


def test_unknown_and_foreign_pages(admin, db):
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    theirs = make_page(rival, [make_product(rival)], slug="bravo-sale")

    assert admin.get("/admin/analytics?page=abc").status_code == 400
    assert "Unknown landing page" in admin.get("/admin/analytics?page=abc").get_data(as_text=True)
    assert admin.get(f"/admin/analytics?page={theirs.id}").status_code == 404
    assert admin.get(f"/admin/analytics/export.csv?table=campaigns&page={theirs.id}").status_code == 404
    assert admin.get("/admin/analytics/export.csv?table=secrets").status_code == 404


def test_every_table_exports_to_csv(admin, traffic):
    data, page, recent = traffic
    rows = {}
    for table in ("pages", "campaigns", "series", "funnel"):
        response = admin.get(f"/admin/analytics/export.csv?table={table}&range=7d")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows[table] = list(csv.reader(io.StringIO(response.get_data(as_text=True))))

    assert rows["pages"][1][:3] == [str(page.id), "Summer Sale", str(recent["visits"])]
    assert sum(int(r[3]) for r in rows["campaigns"][1:]) == recent["visits"]
    assert sum(int(r[1]) for r in rows["series"][1:]) == recent["visits"]
    assert [r[1] for r in rows["funnel"][1:]] == [str(recent[k]) for k in (
        "visits", "add_to_cart_visits", "checkout_starts", "payments_submitted", "orders")]


def test_a_utm_value_that_looks_like_a_formula_is_exported_as_text(admin, db, company):
    page = make_page(company, [make_product(company)])
    data = Traffic(2)
    visit = data.visit(company, page, utcnow() - timedelta(hours=2), source=("=HYPERLINK(1)", "cpc", "+x"))
    data.event(visit, "page_view", visit.started_at)
    db.session.commit()
    refresh(now=utcnow())

    body = admin.get("/admin/analytics/export.csv?table=campaigns&range=7d").get_data(as_text=True)

    assert "'=HYPERLINK(1)" in body and "'+x" in body


def test_the_dashboard_never_reads_the_event_log(admin, traffic, db):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert admin.get("/admin/analytics?range=30d").status_code == 200
        assert admin.get("/admin/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert any("FROM analytics_hourly" in s for s in statements)
    assert not [s for s in statements if re.search(r"\b(FROM|JOIN)\s+(visit_events|visits|orders|leads|carts)\b", s)]


def test_the_home_headline_comes_from_the_rollups(admin, traffic):
    data, page, recent = traffic
    text = _numbers(admin.get("/admin/").get_data(as_text=True))

    assert f"New leads {recent['new_leads']} " in text.split("Last 7 days", 1)[1]
