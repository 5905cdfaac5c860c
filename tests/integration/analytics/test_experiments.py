"""A/B experiments (storefront.analytics.experiments) through the real landing page: sticky
variants per visitor, one exposure per visitor, bots left out, the split's accuracy, the
lifecycle's rules, and rollups keyed by the variant."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from factories import make_page, make_product

from storefront.analytics.experiments import (
    Arm,
    ExperimentError,
    assign,
    create_experiment,
    forget_plans,
    start,
    stop,
    variants_of,
)
from storefront.analytics.models import ExperimentExposure, HourlyRollup
from storefront.analytics.rollups import refresh
from storefront.types import new_token, utcnow


@pytest.fixture()
def page(db, company, app):
    app.config["EXPERIMENT_CACHE_SECONDS"] = 0
    forget_plans()
    return make_page(company, [make_product(company)])


def _experiment(company, page, weights=(50, 50)):
    return create_experiment(company.id, page.id, "Headline test", "A promise sells better", "conversion_rate",
                             [("Control", weights[0], None), ("Promise", weights[1], "Free returns, always")])


def test_the_split_is_within_one_percent_of_the_weights():
    arms = (Arm(1, 20, None, True), Arm(2, 30, "b", False), Arm(3, 50, "c", False))
    counts = Counter(assign(42, new_token(), arms).id for _ in range(100_000))
    for arm in arms:
        assert abs(counts[arm.id] / 100_000 - arm.weight / 100) < 0.01


def test_assignment_is_sticky_and_depends_on_the_experiment():
    arms = (Arm(1, 50, None, True), Arm(2, 50, "b", False))
    visitors = [new_token() for _ in range(200)]
    first = [assign(7, v, arms).id for v in visitors]
    assert first == [assign(7, v, arms).id for v in visitors]
    assert first != [assign(8, v, arms).id for v in visitors]


def test_each_visitor_keeps_their_variant_and_is_exposed_once(app, db, company, page):
    experiment = _experiment(company, page)
    start(experiment)
    seen = {}
    for _ in range(12):
        client = app.test_client()
        body = client.get("/lp/summer-sale").get_data(as_text=True)
        variant = "Free returns, always" in body
        again = client.get("/lp/summer-sale").get_data(as_text=True)
        assert ("Free returns, always" in again) == variant  # a reload keeps the variant
        visitor = client.get_cookie("sf_vid").value
        seen[visitor] = variant
    db.session.rollback()
    exposures = db.session.execute(db.select(ExperimentExposure)).scalars().all()

    assert len(exposures) == 12 and {e.visitor_id for e in exposures} == set(seen)
    assert set(seen.values()) == {True, False}  # 12 visitors at 50/50: both arms (p of not = 2 * 0.5**12)
    control = variants_of(experiment.id)[0].id
    assert all((e.variant_id != control) == seen[e.visitor_id] for e in exposures)


def test_bots_see_the_page_and_are_not_counted(app, db, company, page):
    start(_experiment(company, page))
    client = app.test_client()
    body = client.get("/lp/summer-sale", headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert body.status_code == 200 and "Free returns, always" not in body.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count()).select_from(ExperimentExposure)).scalar() == 0


def test_rollups_are_keyed_by_the_variant(app, db, company, page):
    experiment = _experiment(company, page)
    start(experiment, now=utcnow() - timedelta(minutes=1))
    for _ in range(10):
        app.test_client().get("/lp/summer-sale?utm_source=ads")
    refresh(now=utcnow())

    by_variant = Counter()
    for row in db.session.execute(db.select(HourlyRollup)).scalars():
        by_variant[row.variant_id] += row.visits
    exposed = Counter(e.variant_id for e in db.session.execute(db.select(ExperimentExposure)).scalars())
    assert by_variant == exposed and sum(by_variant.values()) == 10


def test_the_lifecycle_rules(db, company, page):
    with pytest.raises(ExperimentError, match="sum to 100"):
        _experiment(company, page, weights=(50, 40))
    with pytest.raises(ExperimentError, match="sum to 100"):
        _experiment(company, page, weights=(100, 0))
    first, second = _experiment(company, page), _experiment(company, page)
    start(first)
    with pytest.raises(ExperimentError, match="Another experiment is running"):
        start(second)
    with pytest.raises(ExperimentError, match="Only a draft"):
        start(first)
    stop(first)
    stop(first)  # a second stop changes nothing
    start(second)
    assert (first.status, second.status) == ("stopped", "running")
