"""The daily rollup (analytics_daily) the dashboard reads for whole UTC days: each day's row
is the sum of its hourly rows after every refresh, and the dashboard's figures from daily
plus edge hours equal those summed from the hourly rows alone, for ranges that start and end
mid-UTC-day in merchants' timezones (whole-hour and half-hour offsets, and UTC); across New
York's daylight-saving changes a 23-hour and a 25-hour day are each one bucket of the series."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from analytics_data import Traffic
from factories import make_page, make_product

from storefront.analytics import spans
from storefront.analytics.dashboard import DateRange, build
from storefront.analytics.models import COUNTERS, DailyRollup, HourlyRollup
from storefront.analytics.rollups import refresh
from storefront.extensions import db as _db

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
KEY = ("landing_page_id", "variant_id", "utm_source", "utm_medium", "utm_campaign")


@pytest.fixture()
def traffic(db, company):
    product = make_product(company)
    page = make_page(company, [product])
    traffic = Traffic(5)
    traffic.shoppers(company, page, product.variants[0].id, NOW - timedelta(days=9), hours=9 * 24 - 4, n=260)
    for n in range(30):  # a second key: another campaign, no page
        at = NOW - timedelta(days=8, hours=-5 * n)
        visit = traffic.visit(company, None, at, source=("google", "cpc", "spring"))
        traffic.event(visit, "page_view", at)
    db.session.commit()
    assert refresh(now=NOW).ran
    return company, page


def _hourly_rows(company_id: int):
    _db.session.rollback()
    return list(_db.session.execute(_db.select(HourlyRollup).where(HourlyRollup.company_id == company_id)).scalars())


def _daily_by_hours(company_id: int) -> dict[tuple, Counter]:
    sums: dict[tuple, Counter] = defaultdict(Counter)
    for row in _hourly_rows(company_id):
        day = row.hour.replace(hour=0)
        sums[(day, *(getattr(row, k) for k in KEY))].update({n: getattr(row, n) for n in COUNTERS})
    return {key: +c for key, c in sums.items() if +c}


def _daily(company_id: int) -> dict[tuple, Counter]:
    _db.session.rollback()
    rows = _db.session.execute(_db.select(DailyRollup).where(DailyRollup.company_id == company_id)).scalars()
    return {key: +c for key, c in ((
        (row.day, *(getattr(row, k) for k in KEY)), Counter({n: getattr(row, n) for n in COUNTERS})) for row in rows)
        if +c}


def test_each_days_row_is_the_sum_of_its_hours_after_every_refresh(db, traffic):
    company, page = traffic
    first = _daily(company.id)
    assert first and first == _daily_by_hours(company.id)
    # A late event in an old day: its hour is rewritten, and so is its day.
    old = NOW - timedelta(days=6)
    visit = Traffic(9).visit(company, page, old)
    Traffic(9).event(visit, "page_view", old, key="b" * 32)
    db.session.commit()
    refresh(now=NOW + timedelta(minutes=5))
    refresh(now=NOW + timedelta(minutes=5))

    again = _daily(company.id)
    assert again == _daily_by_hours(company.id) and again != first


def _hourly_only(company_id: int, span: DateRange):
    """The dashboard's figures summed in Python from the hourly rows alone."""
    rows = [r for r in _hourly_rows(company_id) if span.start <= r.hour < span.end]
    total, pages, campaigns, points = Counter(), defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    for r in rows:
        counts = {n: getattr(r, n) for n in COUNTERS}
        total.update(counts)
        pages[r.landing_page_id].update(counts)
        campaigns[(r.utm_source, r.utm_medium, r.utm_campaign)].update(counts)
        points[r.hour.astimezone(span.zone).date().isoformat()].update(counts)
    return total, pages, campaigns, points


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("first, last", [(date(2026, 6, 2), date(2026, 6, 9)), (date(2026, 6, 4), date(2026, 6, 5)),
                                         (date(2026, 6, 1), date(2026, 6, 10))])
def test_the_dashboard_reads_the_same_figures_as_from_hours_alone(db, traffic, zone, first, last):
    company, _page = traffic
    span = DateRange("custom", first, last, ZoneInfo(zone))
    days, hours = spans.split(span.start, span.end)
    assert days  # the range holds whole UTC days, read from the daily rows

    board = build(company.id, span)
    total, pages, campaigns, points = _hourly_only(company.id, span)

    assert total["visits"] > 0
    assert board.current.counts == {n: total[n] for n in COUNTERS}
    assert {r.label[0]: r.figures.counts for r in board.pages} == {
        k: {n: c[n] for n in COUNTERS} for k, c in pages.items()}
    assert {r.label: r.figures.counts for r in board.campaigns} == {
        k: {n: c[n] for n in COUNTERS} for k, c in campaigns.items()}
    assert {p.label: (p.visits, p.orders, p.revenue_cents) for p in board.points if p.visits or p.orders} == {
        k: (c["visits"], c["orders"], c["revenue_cents"]) for k, c in points.items() if c["visits"] or c["orders"]}
    before = span.previous()
    assert board.previous.counts == {n: _hourly_only(company.id, before)[0][n] for n in COUNTERS}


def test_split_covers_a_range_once():
    start, end = datetime(2026, 3, 1, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC)
    days, hours = spans.split(start, end)
    assert days == [(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))]
    assert hours == [(start, datetime(2026, 3, 2, tzinfo=UTC)), (datetime(2026, 3, 9, tzinfo=UTC), end)]
    # Per local date of New York: no UTC day lies in one, so every hour is read.
    assert spans.split(start, end, ZoneInfo("America/New_York")) == ([], [(start, end)])
    assert spans.split(start, start + timedelta(hours=5)) == ([], [(start, start + timedelta(hours=5))])


NEW_YORK = ZoneInfo("America/New_York")


def test_a_23_hour_and_a_25_hour_day_are_each_one_bucket_of_the_series(db, company):
    """New York's 2026-03-08 has 23 hours (02:00 EST is 03:00 EDT) and 2026-11-01 has 25
    (01:00 to 02:00 EDT comes twice): each is one bucket of the daily series, holding every
    hour of it, over ranges whose whole UTC days are read from the daily rows."""
    company.timezone = "America/New_York"
    page = make_page(company, [make_product(company)])
    traffic = Traffic(7)
    # One visit in every hour of the weeks around both changes, an order in every fifth hour.
    for first in (date(2026, 3, 5), date(2026, 10, 29)):
        start = datetime.combine(first, datetime.min.time(), tzinfo=NEW_YORK).astimezone(UTC)
        for n in range(7 * 24):
            at = start + timedelta(hours=n, minutes=20)
            visit = traffic.visit(company, page, at)
            if n % 5 == 0:
                traffic.order(visit, at + timedelta(minutes=5), 1000 + n)
    db.session.commit()
    assert refresh(now=datetime(2026, 11, 20, tzinfo=UTC)).ran

    for first, last, short, hours in ((date(2026, 3, 6), date(2026, 3, 10), "2026-03-08", 23),
                                      (date(2026, 10, 30), date(2026, 11, 3), "2026-11-01", 25)):
        span = DateRange("custom", first, last, NEW_YORK)
        assert spans.split(span.start, span.end)[0]  # whole UTC days come from the daily rows
        want: dict[str, Counter] = defaultdict(Counter)
        for (_company, hour), counts in traffic.expected.items():
            if span.start <= hour < span.end:
                want[hour.astimezone(NEW_YORK).date().isoformat()].update(counts)

        points = build(company.id, span).points

        assert [p.label for p in points] == [(first + timedelta(days=n)).isoformat() for n in range(5)]
        assert {p.label: (p.visits, p.orders, p.revenue_cents) for p in points} == {
            day: (c["visits"], c["orders"], c["revenue_cents"]) for day, c in want.items()}
        assert {p.label: p.visits for p in points}[short] == hours
