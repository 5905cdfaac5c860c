"""The nightly "Frequently bought together" count (cron ``count_co_purchases`` →
``checkout.co_purchase.rebuild_all``) on PostgreSQL: paid orders of the window only, one
merchant's orders never count for another, and a rerun rewrites the same rows."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import make_order, make_product
from sqlalchemy import select

from storefront import cron
from storefront.accounts.cron_runs import CronRun
from storefront.accounts.models import Company
from storefront.catalog.co_purchase import ProductPair
from storefront.checkout.co_purchase import WINDOW_DAYS, rebuild_all

pytestmark = pytest.mark.postgres

NIGHT = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
AT = NIGHT - timedelta(days=3)


def pairs(db, company) -> set[tuple[int, int, int]]:
    return {(row.product_id, row.other_product_id, row.orders_together) for row in db.session.execute(
        select(ProductPair).where(ProductPair.company_id == company.id)).scalars()}


def test_the_nightly_count_is_idempotent_and_keeps_to_the_window(app, db, company):
    tee, cap, mug = (make_product(company, title) for title in ("Tee", "Cap", "Mug"))
    make_order(company, [tee, cap], at=AT)
    make_order(company, [tee, cap, mug], at=AT)
    make_order(company, [tee, mug], status="REFUNDED", at=AT)  # not counted: the money went back
    make_order(company, [tee, mug], at=NIGHT - timedelta(days=WINDOW_DAYS + 1))  # before the window

    assert rebuild_all(clock=lambda: NIGHT) == 2
    first = pairs(db, company)
    assert first == {(tee.id, cap.id, 2), (cap.id, tee.id, 2)}
    assert rebuild_all(clock=lambda: NIGHT) == 2  # a rerun rewrites, never adds
    assert pairs(db, company) == first
    assert {row.computed_at for row in db.session.execute(select(ProductPair)).scalars()} == {NIGHT}

    # Months later both orders have left the window: the pairs go with them.
    assert rebuild_all(clock=lambda: NIGHT + timedelta(days=WINDOW_DAYS)) == 0
    assert pairs(db, company) == set()


def test_another_merchants_orders_never_count(app, db, company):
    other = Company(name="Other Goods", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    tee, cap = make_product(company, "Tee"), make_product(company, "Cap")
    their_tee, their_cap = make_product(other, "Tee"), make_product(other, "Cap")
    make_order(company, [tee, cap], at=AT)
    make_order(other, [their_tee, their_cap], at=AT)
    make_order(other, [their_tee, their_cap], at=AT)
    # A line of the other merchant's variant inside our order (never made by checkout, but a
    # corrupt row must not leak their products into our pairs).
    mixed = make_order(company, [tee, their_cap], at=AT)

    rebuild_all(clock=lambda: NIGHT)

    assert pairs(db, company) == set()  # one order of tee+cap is not enough, theirs don't add up
    assert pairs(db, other) == {(their_tee.id, their_cap.id, 2), (their_cap.id, their_tee.id, 2)}
    assert mixed.company_id == company.id


def test_the_cron_job_runs_it_and_notes_its_success(app, db, company):
    tee, cap = make_product(company, "Tee"), make_product(company, "Cap")
    make_order(company, [tee, cap], at=datetime.now(UTC) - timedelta(days=1))
    make_order(company, [tee, cap], at=datetime.now(UTC) - timedelta(days=1))

    assert cron.count_co_purchases() == 2
    assert db.session.get(CronRun, "count_co_purchases").last_success_at is not None
    assert ("count_co_purchases", 24 * 60 * 60) in [(job.__name__, every) for job, every in cron.JOBS]
