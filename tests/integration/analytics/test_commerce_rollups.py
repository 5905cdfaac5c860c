"""The commerce rollups (storefront.analytics.commerce) on the real database: per product,
per source type and per category they equal counts worked out in Python from random
traffic, a second refresh writes the same rows, merchants never mix, and a late order
line's hour is rewritten."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from analytics_shop import Shop

from storefront.accounts.models import Company
from storefront.analytics.commerce_models import CategoryRollup, ProductRollup, SourceRollup
from storefront.analytics.rollups import refresh
from storefront.extensions import db as _db

NOW = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)


def table(model, key: str) -> dict[tuple, Counter]:
    _db.session.rollback()
    counters = [c.name for c in model.__table__.columns if c.name not in ("id", "company_id", "hour", key)]
    return {(r.company_id, getattr(r, key), r.hour): +Counter({n: getattr(r, n) for n in counters})
            for r in _db.session.execute(_db.select(model)).scalars()}


def clean(expected: dict[tuple, Counter]) -> dict[tuple, Counter]:
    return {k: +v for k, v in expected.items() if +v}


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


def test_a_late_order_is_counted_in_its_own_hour(shops):
    shop = shops[0]
    refresh(now=NOW)
    old = NOW - timedelta(days=5)
    shop.order(shop.visit(old), old, "EMAIL")
    _db.session.commit()

    refresh(now=NOW)

    assert table(SourceRollup, "source_type") == clean(shop.source)
    assert table(ProductRollup, "product_id") == clean(shop.product)


def test_recovered_and_upsell_orders_have_their_own_source_type(shops):
    from storefront.analytics.breakdowns import build

    shop = shops[0]
    at = NOW - timedelta(hours=5)
    first = shop.order(shop.visit(at), at, "SMS")  # restored from a recovery text
    shop.order(shop.visit(at), at + timedelta(minutes=1), "UPSELL")
    _db.session.commit()
    refresh(now=NOW)

    board = build(shop.company.id, NOW - timedelta(days=1), NOW)
    labels = {line.key: (line.label, line.orders, line.revenue_cents) for line in board.sources}
    want = clean(shop.source)
    assert labels["SMS"] == ("Text message", 1, first.amount_paid_cents)
    assert labels["UPSELL"][:2] == ("One-click upsell", 1)
    assert {k: v["orders"] for (_c, k, _h), v in want.items()} == {k: v[1] for k, v in labels.items()}
