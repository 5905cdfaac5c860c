"""The commerce rollups (storefront.analytics.commerce) on the real database: per product,
per source type and per category they equal counts worked out in Python from random
traffic, a second refresh writes the same rows, merchants never mix, and a late order
line's hour is rewritten. Their daily rows always equal the sums of their hours, and the
dashboard's commerce tables, which read whole UTC days from the daily rows and the edge
hours from the hourly ones, equal the traffic over random ranges: local days of a New York
merchant across both daylight-saving changes (a 23-hour and a 25-hour day) and ranges
starting and ending mid-day."""
from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from analytics_shop import Shop, days_and_their_hours, summed

from storefront.accounts.models import Company
from storefront.analytics import breakdowns, spans
from storefront.analytics.commerce_models import CategoryRollup, ProductRollup, SourceRollup
from storefront.analytics.dashboard import DateRange
from storefront.analytics.rollups import refresh
from storefront.extensions import db as _db

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
# A week of traffic around each of New York's changes in 2026: 2026-03-08 has 23 hours,
# 2026-11-01 has 25.
WEEKS = (date(2026, 3, 5), date(2026, 10, 29))
AFTER_WEEKS = datetime(2026, 11, 20, tzinfo=UTC)


def table(model, key: str) -> dict[tuple, Counter]:
    _db.session.rollback()
    counters = [c.name for c in model.__table__.columns if c.name not in ("id", "company_id", "hour", key)]
    return {(r.company_id, getattr(r, key), r.hour): +Counter({n: getattr(r, n) for n in counters})
            for r in _db.session.execute(_db.select(model)).scalars()}


def clean(expected: dict[tuple, Counter]) -> dict[tuple, Counter]:
    return {k: +v for k, v in expected.items() if +v}


def assert_days_equal_their_hours() -> None:
    for name, days, from_hours in days_and_their_hours():
        assert days == from_hours, name


@pytest.fixture()
def shops(db, company):
    other = Company(name="Other", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    return Shop(company, 5), Shop(other, 6)


@pytest.mark.parametrize("seed", [1, 2])
def test_commerce_rollups_equal_a_count_and_a_second_run_changes_nothing(shops, seed):
    for shop in shops:
        shop.rng.seed(seed * 100 + shop.company.id)
        shop.traffic(NOW - timedelta(days=2), hours=40, n=60)

    refresh(now=NOW)
    first = (table(ProductRollup, "product_id"), table(SourceRollup, "source_type"),
             table(CategoryRollup, "category_id"))
    days = days_and_their_hours()
    refresh(now=NOW)

    for model, key, attr, got in ((ProductRollup, "product_id", "product", first[0]),
                                  (SourceRollup, "source_type", "source", first[1]),
                                  (CategoryRollup, "category_id", "category", first[2])):
        want = clean({k: v for shop in shops for k, v in getattr(shop, attr).items()})
        assert got == want, model.__tablename__
        assert table(model, key) == got
    # The product off the page has sales but never views.
    sock = shops[0].products[2].id
    assert all(v["views"] == 0 for (c, p, _h), v in first[0].items() if p == sock)
    # The daily rows: the sums of their hours (two or three UTC days), and unchanged by the second run.
    assert all(got and got == want for _name, got, want in days)
    assert days_and_their_hours() == days


def test_a_late_order_is_counted_in_its_own_hour(shops):
    shop = shops[0]
    shop.traffic(NOW - timedelta(days=6), hours=24, n=20)
    refresh(now=NOW)
    before = days_and_their_hours()
    old = NOW - timedelta(days=5, hours=3)
    shop.order(shop.visit(old), old, "EMAIL")
    _db.session.commit()

    refresh(now=NOW)

    assert table(SourceRollup, "source_type") == clean(shop.source)
    assert table(ProductRollup, "product_id") == clean(shop.product)
    assert_days_equal_their_hours()
    assert days_and_their_hours() != before  # the late order's day was rewritten


def test_a_converted_abandoned_cart_leaves_its_days_commerce_rows(shops):
    from storefront.analytics.hooks import _order_completed

    shop = shops[0]
    at = NOW - timedelta(days=4)
    cart = shop.cart(shop.visit(at), at, "ABANDONED", "EMAIL")
    _db.session.commit()
    refresh(now=NOW)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    source_days = days_and_their_hours()[1][1]
    assert source_days[(shop.company.id, "EMAIL", day)]["abandoned_carts"] == 1

    _order_completed(None, cart)  # what checkout does when the abandoned cart is paid
    cart.status = "CONVERTED"
    _db.session.commit()
    refresh(now=NOW)

    assert (shop.company.id, "EMAIL", day) not in days_and_their_hours()[1][1]
    assert_days_equal_their_hours()


def test_recovered_and_upsell_orders_have_their_own_source_type(shops):
    shop = shops[0]
    at = NOW - timedelta(hours=5)
    first = shop.order(shop.visit(at), at, "SMS")  # restored from a recovery text
    shop.order(shop.visit(at), at + timedelta(minutes=1), "UPSELL")
    _db.session.commit()
    refresh(now=NOW)

    board = breakdowns.build(shop.company.id, NOW - timedelta(days=1), NOW)
    labels = {line.key: (line.label, line.orders, line.revenue_cents) for line in board.sources}
    want = clean(shop.source)
    assert labels["SMS"] == ("Text message", 1, first.amount_paid_cents)
    assert labels["UPSELL"][:2] == ("One-click upsell", 1)
    assert {k: v["orders"] for (_c, k, _h), v in want.items()} == {k: v[1] for k, v in labels.items()}


@pytest.fixture()
def weeks(shops):
    """Traffic of both merchants over the two weeks around New York's changes, refreshed
    once after them: the first merchant is in New York."""
    ours, theirs = shops
    ours.company.timezone = "America/New_York"
    for shop, n in ((ours, 90), (theirs, 30)):
        for first in WEEKS:
            start = datetime.combine(first, datetime.min.time(), tzinfo=NEW_YORK).astimezone(UTC)
            shop.traffic(start, hours=7 * 24, n=n)
    assert refresh(now=AFTER_WEEKS).ran
    return ours, theirs


def _ranges(rng: random.Random) -> list[tuple[datetime, datetime]]:
    """[start, end) UTC ranges: the two changes' days and weeks as New York local days, then
    random local-day ranges and random whole-hour ranges starting and ending mid-day."""
    local = [DateRange("custom", first, last, NEW_YORK) for first, last in (
        (date(2026, 3, 8), date(2026, 3, 8)), (date(2026, 11, 1), date(2026, 11, 1)),
        (date(2026, 3, 6), date(2026, 3, 10)), (date(2026, 10, 30), date(2026, 11, 3)))]
    for _ in range(12):
        first = rng.choice(WEEKS) + timedelta(days=rng.randrange(7))
        local.append(DateRange("custom", first, first + timedelta(days=rng.randrange(7)), NEW_YORK))
    ranges = [(span.start, span.end) for span in local]
    for _ in range(16):
        week = datetime.combine(rng.choice(WEEKS), datetime.min.time(), tzinfo=NEW_YORK).astimezone(UTC)
        start = week + timedelta(hours=rng.randrange(-12, 7 * 24))
        ranges.append((start, start + timedelta(hours=rng.randrange(1, 7 * 24))))
    return ranges


def _tables(board: breakdowns.Breakdowns) -> tuple[dict, dict, dict]:
    products = {line.key: +Counter(line.counts) for line in (*board.by_views, *board.by_adds, *board.by_purchases)}
    return (products, {line.key: +Counter(line.counts) for line in board.sources},
            {line.key: +Counter(line.counts) for line in board.categories})


def _wanted(shop: Shop, start: datetime, end: datetime) -> tuple[dict, dict, dict]:
    products = summed(shop.product, shop.company.id, start, end)
    # The top lists hold the products with a view, an add or a sale (every one here: three products).
    shown = {k: v for k, v in products.items() if v["views"] or v["adds"] or v["units_sold"]}
    return (shown, summed(shop.source, shop.company.id, start, end),
            summed(shop.category, shop.company.id, start, end))


@pytest.mark.parametrize("seed", [11, 12])
def test_the_commerce_tables_equal_the_traffic_over_random_ranges_across_dst(weeks, seed):
    ours, theirs = weeks
    assert_days_equal_their_hours()
    ranges = _ranges(random.Random(seed))
    read_days = 0
    for start, end in ranges:
        days, _hours = spans.split(start, end)
        read_days += bool(days)
        got, want = _tables(breakdowns.build(ours.company.id, start, end)), _wanted(ours, start, end)
        assert got == want, (start, end)
    # Most ranges take whole UTC days from the daily rows; the two single local days are edges only.
    assert read_days >= len(ranges) // 2
    # The other merchant's tables hold only its own traffic.
    for start, end in ranges[:4]:
        assert _tables(breakdowns.build(theirs.company.id, start, end)) == _wanted(theirs, start, end)
    assert sum(ours.product.values(), Counter())["views"] and sum(theirs.product.values(), Counter())["views"]


def test_a_second_refresh_over_the_weeks_writes_the_same_daily_rows(weeks):
    before = days_and_their_hours()

    assert refresh(now=AFTER_WEEKS).ran

    assert days_and_their_hours() == before
