"""The analytics dashboard's commerce tables: top products by views, adds and purchases,
source types with average cart size, abandonment by category, each beside its chart where
it has one and exported to CSV, read from the commerce rollups only; another merchant's
products never appear."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from analytics_shop import Shop
from factories import make_user, sign_in
from sqlalchemy import event

from storefront.accounts.models import Company
from storefront.analytics.rollups import refresh
from storefront.types import utcnow

HX = {"HX-Request": "true"}


@pytest.fixture()
def shops(client, company, db):
    make_user(company)
    assert sign_in(client).status_code == 303
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    ours, theirs = Shop(company, 3), Shop(rival, 4)
    now = utcnow()
    ours.traffic(now - timedelta(days=3), hours=60, n=60)
    theirs.traffic(now - timedelta(days=3), hours=60, n=30)
    refresh(now=now)
    return ours, theirs


def summed(expected: dict[tuple, Counter]) -> dict[object, Counter]:
    """Expected counters per key (product id, source type, category id) over every hour."""
    totals: dict[object, Counter] = {}
    for (_company, key, _hour), counts in expected.items():
        totals.setdefault(key, Counter()).update(counts)
    return totals


def csv_rows(client, table: str) -> list[list[str]]:
    response = client.get(f"/admin/analytics/export.csv?table={table}&range=7d")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_commerce_tables_equal_the_traffic(client, shops):
    ours, theirs = shops
    products, sources, categories = summed(ours.product), summed(ours.source), summed(ours.category)

    rows = {row[0]: row for row in csv_rows(client, "products")[1:]}
    for product in ours.products:
        want = products.get(product.id, Counter())
        if want["views"] or want["adds"] or want["units_sold"]:
            assert rows[str(product.id)][2:8] == [str(want[k]) for k in (
                "views", "adds", "units_added", "orders", "units_sold", "revenue_cents")]
    assert not {str(p.id) for p in theirs.products} & set(rows)

    rows = {row[0]: row for row in csv_rows(client, "sources")[1:]}
    for kind, want in sources.items():
        assert rows[kind][2:5] == [str(want["orders"]), str(want["revenue_cents"]), str(want["units_ordered"])]
        assert rows[kind][6] == str(want["abandoned_carts"])
    total = sum(sources.values(), Counter())
    assert float(rows[""][5]) == pytest.approx(round(total["units_ordered"] / total["orders"], 4))

    rows = {row[0]: row for row in csv_rows(client, "categories")[1:]}
    for category, want in categories.items():
        rate = want["abandoned_carts"] / (want["orders"] + want["abandoned_carts"])
        assert rows[str(category)][2:5] == [str(want["orders"]), str(want["abandoned_carts"]), str(round(rate, 4))]


def test_the_screen_shows_the_tables_beside_their_charts_and_htmx_swaps_them(client, shops):
    ours, _theirs = shops
    body = client.get("/admin/analytics?range=7d").get_data(as_text=True)

    for heading in ("Source types and average cart size", "Top products", "Cart abandonment by category",
                    "By views", "By adds to cart", "By purchases"):
        assert heading in body
    assert "Revenue per source type" in body and "Cart abandonment rate per category" in body
    assert body.count("<svg") == body.count("<title id=") == body.count("<desc id=") == 4
    assert ours.products[0].title in body

    partial = client.get("/admin/analytics?range=30d", headers=HX).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="analytics-results">') and "Top products" in partial


def test_the_commerce_tables_never_read_the_event_log(client, shops, db):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/admin/analytics?range=30d").status_code == 200
        for table in ("products", "sources", "categories"):
            assert client.get(f"/admin/analytics/export.csv?table={table}").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    assert any(re.search(r"FROM analytics_product_(hourly|daily)\b", s) for s in statements)
    assert not [s for s in statements if re.search(
        r"\b(FROM|JOIN)\s+(visit_events|visits|orders|order_lines|line_items|leads|carts)\b", s)]


@pytest.mark.parametrize("query", ["range=custom&start=2026-05-10&end=2026-05-01", "range=%00", "page=99999999999999"])
def test_bad_filters_on_the_exports_are_4xx(client, shops, query):
    for table in ("products", "sources", "categories"):
        assert 400 <= client.get(f"/admin/analytics/export.csv?table={table}&{query}").status_code < 500
