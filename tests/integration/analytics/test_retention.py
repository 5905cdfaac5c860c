"""Event retention (storefront.analytics.retention) on the real database: each merchant's
events past its own retention are deleted in batches, never an event the rollups have not
counted yet, and the rollups of the purged hours are kept, even when such an hour is
queued dirty afterwards."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from analytics_data import Traffic, hour_of
from analytics_shop import days_and_their_hours
from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.analytics.models import DirtyHour, HourlyRollup
from storefront.analytics.retention import purge_events
from storefront.analytics.rollups import mark_dirty, refresh
from storefront.extensions import db as _db
from storefront.visits.models import VisitEvent

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
GRACE = timedelta(hours=3)
AGES = (100, 40, 10)  # days before NOW


@pytest.fixture()
def merchants(db, company):
    company.event_retention_days = 31
    other = Company(name="Bravo", slug="bravo", currency="USD", event_retention_days=400)
    db.session.add(other)
    db.session.commit()
    traffic = Traffic(3)
    for merchant in (company, other):
        page = make_page(merchant, [make_product(merchant)], slug=f"sale-{merchant.id}")
        for days in AGES:
            at = NOW - timedelta(days=days)
            visit = traffic.visit(merchant, page, at)
            for minute in range(3):
                traffic.event(visit, "page_view", at + timedelta(minutes=minute))
    db.session.commit()
    return company, other


def events(company_id: int) -> list[int]:
    """Days before NOW of the merchant's events, one entry each."""
    _db.session.rollback()
    moments = _db.session.execute(_db.select(VisitEvent.created_at).where(VisitEvent.company_id == company_id))
    return sorted({round((NOW - m).total_seconds() / 86400) for (m,) in moments}, reverse=True)


def page_views(company_id: int) -> dict[datetime, int]:
    _db.session.rollback()
    rows = _db.session.execute(_db.select(HourlyRollup.hour, HourlyRollup.page_views)
                               .where(HourlyRollup.company_id == company_id, HourlyRollup.page_views > 0))
    return dict(rows.all())


def test_each_merchant_keeps_its_own_retention_and_its_rollups(merchants):
    short, long = merchants
    refresh(now=NOW)
    before = (page_views(short.id), page_views(long.id))

    deleted = purge_events(GRACE, now=NOW, batch=2)

    assert deleted == 6  # two visits of three page views, in batches of two
    assert events(short.id) == [10] and events(long.id) == [100, 40, 10]
    assert (page_views(short.id), page_views(long.id)) == before and len(before[0]) == 3
    assert purge_events(GRACE, now=NOW) == 0


def test_nothing_goes_before_the_rollups_counted_it(merchants):
    short, _long = merchants
    assert purge_events(GRACE, now=NOW) == 0  # never refreshed: no watermark
    refresh(now=NOW - timedelta(days=60))  # the watermark is 60 days back

    assert purge_events(GRACE, now=NOW) == 3
    assert events(short.id) == [40, 10]


def test_a_dirty_hour_past_retention_keeps_its_counts(merchants):
    short, _long = merchants
    refresh(now=NOW)
    purge_events(GRACE, now=NOW)
    old = hour_of(NOW - timedelta(days=100))
    mark_dirty(short.id, old)
    _db.session.commit()

    refresh(now=NOW)

    assert page_views(short.id)[old] == 3
    assert _db.session.execute(_db.select(_db.func.count()).select_from(DirtyHour)).scalar() == 0
    # The commerce rollups keep the purged hour's product views, hourly and in its day's row.
    product_days = days_and_their_hours()[0]
    assert product_days[1] == product_days[2]
    assert [v["views"] for (c, _p, day), v in product_days[1].items()
            if c == short.id and day == old.replace(hour=0)] == [3]
