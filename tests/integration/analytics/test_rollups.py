"""The hourly rollup refresh (storefront.analytics.rollups) on the real database: rollups
equal a direct count over the raw rows, a second run changes nothing, late events are
counted once in their own hour, dirty hours are rewritten, runs never overlap, merchants
never mix."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from analytics_data import Traffic, hour_of
from factories import make_page, make_product
from sqlalchemy import create_engine, text

from storefront.accounts.models import Company
from storefront.analytics.metrics import headline
from storefront.analytics.models import COUNTERS, DirtyHour, HourlyRollup, RollupState
from storefront.analytics.rollups import LOCK_KEY, refresh
from storefront.extensions import db as _db
from storefront.visits.models import Visit

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)


def rollup_totals() -> dict[tuple[int, datetime], Counter]:
    """The rollup rows summed per (company, hour)."""
    _db.session.rollback()
    totals: dict[tuple[int, datetime], Counter] = defaultdict(Counter)
    for row in _db.session.execute(_db.select(HourlyRollup)).scalars():
        totals[(row.company_id, row.hour)].update({name: getattr(row, name) for name in COUNTERS})
    return {key: +counter for key, counter in totals.items() if +counter}


def rows_snapshot() -> list[tuple]:
    _db.session.rollback()
    return sorted(
        (r.company_id, r.hour, r.landing_page_id, r.variant_id, r.utm_source, r.utm_medium, r.utm_campaign,
         *(getattr(r, n) for n in COUNTERS))
        for r in _db.session.execute(_db.select(HourlyRollup)).scalars()
    )


def expected(traffic: Traffic) -> dict[tuple[int, datetime], Counter]:
    want = {key: Counter(counter) for key, counter in traffic.expected.items()}
    for key, uniques in traffic.unique_visitors().items():
        want.setdefault(key, Counter())["unique_visitors"] = uniques
    return {key: +counter for key, counter in want.items() if +counter}


@pytest.fixture()
def shop(db, company):
    product = make_product(company)
    page = make_page(company, [product])
    return company, page, product.variants[0].id


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_a_direct_count_and_a_second_run_changes_nothing(db, shop, seed):
    company, page, variant_id = shop
    traffic = Traffic(seed)
    traffic.shoppers(company, page, variant_id, NOW - timedelta(days=3), hours=70, n=120)

    first = refresh(now=NOW)
    snapshot = rows_snapshot()
    second = refresh(now=NOW)

    assert first.ran and second.ran
    assert rollup_totals() == expected(traffic)
    assert rows_snapshot() == snapshot and first.rows == second.rows == len(snapshot)


def test_every_key_part_is_kept_apart(db, shop):
    company, page, variant_id = shop
    traffic = Traffic(7)
    at = NOW - timedelta(hours=1)
    google = traffic.visit(company, page, at, source=("google", "cpc", "spring"))
    direct = traffic.visit(company, None, at, source=(None, None, None))
    traffic.event(google, "page_view", at)
    traffic.event(google, "page_view", at + timedelta(minutes=1))
    traffic.event(direct, "page_view", at)
    db.session.commit()

    refresh(now=NOW)

    rows = {(r.landing_page_id, r.utm_source, r.utm_medium, r.utm_campaign): (r.visits, r.page_views)
            for r in db.session.execute(db.select(HourlyRollup)).scalars()}
    assert rows == {(page.id, "google", "cpc", "spring"): (1, 2), (0, "", "", ""): (1, 1)}


def test_a_late_event_is_counted_once_in_its_own_hour(db, shop):
    company, page, variant_id = shop
    traffic = Traffic(11)
    traffic.shoppers(company, page, variant_id, NOW - timedelta(days=2), hours=24, n=40)
    refresh(now=NOW)
    # Two days later a buffered event from the first day is flushed (its key was unique).
    old_visit = db.session.execute(
        db.select(Visit).where(Visit.company_id == company.id).order_by(Visit.started_at)).scalars().first()
    at = old_visit.started_at + timedelta(minutes=5)
    traffic.event(old_visit, "page_view", at, key="a" * 32)
    traffic.event(old_visit, "add_to_cart", at - timedelta(minutes=1))
    db.session.commit()
    later = NOW + timedelta(days=2)

    refresh(now=later)
    refresh(now=later)

    assert rollup_totals() == expected(traffic)


def test_the_watermark_moves_and_old_hours_are_left_alone(app, db, shop):
    app.config["ANALYTICS_ID_SLACK"] = 0  # no rows can be in flight here
    company, page, variant_id = shop
    traffic = Traffic(5)
    traffic.shoppers(company, page, variant_id, NOW - timedelta(days=2), hours=10, n=20)
    refresh(now=NOW)

    result = refresh(now=NOW + timedelta(minutes=5))

    state = db.session.get(RollupState, 1)
    assert state.refreshed_until == hour_of(NOW + timedelta(minutes=5))
    # Nothing new: only the grace window (3 h before the watermark up to this hour) is rewritten.
    assert result.ranges == [(hour_of(NOW) - timedelta(hours=3), hour_of(NOW) + timedelta(hours=1), None)]


def test_a_converted_abandoned_cart_leaves_its_old_hour(db, shop):
    company, page, variant_id = shop
    traffic = Traffic(3)
    at = NOW - timedelta(days=3)
    visit = traffic.visit(company, page, at)
    cart = traffic.abandoned_cart(visit, variant_id, at)
    db.session.commit()
    refresh(now=NOW)
    assert rollup_totals()[(company.id, hour_of(at))]["abandoned_carts"] == 1

    # What checkout's order_completed hook does when an abandoned cart is paid.
    from storefront.analytics.hooks import _order_completed

    _order_completed(None, cart)
    _order_completed(None, cart)  # marked twice: still one dirty hour
    cart.status = "CONVERTED"
    db.session.commit()
    assert db.session.execute(db.select(db.func.count()).select_from(DirtyHour)).scalar() == 1
    refresh(now=NOW)

    assert rollup_totals()[(company.id, hour_of(at))]["abandoned_carts"] == 0
    assert db.session.execute(db.select(db.func.count()).select_from(DirtyHour)).scalar() == 0


def test_merchants_never_mix_and_the_headline_reads_the_rollups(db, shop):
    company, page, variant_id = shop
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    rival_page = make_page(rival, [make_product(rival)], slug="bravo-sale")
    traffic = Traffic(9)
    start = NOW - timedelta(hours=20)
    traffic.shoppers(company, page, variant_id, start, hours=20, n=30)
    traffic.shoppers(rival, rival_page, variant_id, start, hours=20, n=50)

    before = headline(company.id, start)
    refresh(now=NOW)
    ours, theirs = headline(company.id, start), headline(rival.id, start)

    assert before.visits == 0  # dashboards read the rollups, not the raw rows
    want = expected(traffic)
    mine = sum((c for (cid, _h), c in want.items() if cid == company.id), Counter())
    assert (ours.visits, ours.add_to_carts, ours.orders, ours.revenue_cents, ours.new_leads) == (
        mine["visits"], mine["add_to_cart_visits"], mine["orders"], mine["revenue_cents"], mine["new_leads"])
    assert ours.visits == 30 and theirs.visits == 50


def test_a_run_that_finds_another_running_does_nothing(db, shop, is_postgres):
    if not is_postgres:
        pytest.skip("advisory locks are PostgreSQL's")
    company, page, variant_id = shop
    Traffic(4).shoppers(company, page, variant_id, NOW - timedelta(hours=5), hours=5, n=10)
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
        result = refresh(now=NOW)
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    other.dispose()

    assert not result.ran and rollup_totals() == {}
    assert refresh(now=NOW).ran and rollup_totals() != {}


def test_a_run_that_fails_half_way_leaves_the_old_rows(db, shop, is_postgres):
    if not is_postgres:
        pytest.skip("lock_timeout is PostgreSQL's")
    company, page, variant_id = shop
    traffic = Traffic(8)
    traffic.shoppers(company, page, variant_id, NOW - timedelta(hours=6), hours=6, n=30)
    refresh(now=NOW)
    before = rows_snapshot()
    traffic.shoppers(company, page, variant_id, NOW - timedelta(hours=6), hours=6, n=30)
    # Another transaction holds a row of the rollups: the run's DELETE waits, times out and
    # fails after it already read the new counts.
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        conn.execute(text("SELECT id FROM analytics_hourly ORDER BY id LIMIT 1 FOR UPDATE"))
        db.session.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(Exception, match="lock"):
            refresh(now=NOW)
        db.session.rollback()
        conn.rollback()
    other.dispose()

    assert rows_snapshot() == before
    refresh(now=NOW)
    assert rollup_totals() == expected(traffic)
