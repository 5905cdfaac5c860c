"""``flask analytics reconcile``: every attribution gap between orders and their visits,
and nothing for an order whose attribution is whole."""
from __future__ import annotations

from datetime import timedelta

from analytics_data import Traffic
from factories import make_page, make_product

from storefront.analytics.experiments import create_experiment, start
from storefront.analytics.models import ExperimentExposure, ExperimentVariant
from storefront.analytics.reconcile import gaps
from storefront.types import utcnow


def test_every_gap_is_listed(app, db, company):
    page = make_page(company, [make_product(company)])
    other = make_page(company, [make_product(company, "Cap")], slug="caps")
    now = utcnow()
    experiment = create_experiment(company.id, other.id, "Caps", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Caps for all")])
    start(experiment, now=now - timedelta(days=2))
    data = Traffic(1)
    at = now - timedelta(hours=3)
    whole = data.order(data.visit(company, page, at, source=("google", "cpc", "june")), at, 1000)
    lost = data.order(data.visit(company, page, at, source=("meta", "paid", "june")), at, 1000)
    lost.utm_source = None
    orphan = data.order(data.visit(company, page, at), at, 1000)
    orphan.visit_id = None
    exposed_visit = data.visit(company, other, at)
    variant = db.session.execute(db.select(ExperimentVariant.id).filter_by(experiment_id=experiment.id)).scalars().first()
    db.session.add(ExperimentExposure(company_id=company.id, experiment_id=experiment.id, variant_id=variant,
                                      visitor_id=exposed_visit.visitor_id, created_at=at))
    fine = data.order(exposed_visit, at, 1000)
    fine.experiment_variant_id = variant  # as checkout's order hook records it
    missing = data.order(data.visit(company, other, at), at, 1000)
    # The order's own variant column against the exposure: another variant, and none.
    variant_b = db.session.execute(db.select(ExperimentVariant.id).filter_by(experiment_id=experiment.id)
                                   .order_by(ExperimentVariant.id.desc())).scalars().first()
    switched, unrecorded = data.visit(company, other, at), data.visit(company, other, at)
    for visit in (switched, unrecorded):
        db.session.add(ExperimentExposure(company_id=company.id, experiment_id=experiment.id, variant_id=variant,
                                          visitor_id=visit.visitor_id, created_at=at))
    mismatch = data.order(switched, at, 1000)
    mismatch.experiment_variant_id = variant_b
    not_on_order = data.order(unrecorded, at, 1000)
    db.session.commit()

    found = {(gap.order_id, gap.kind) for gap in gaps(company.id, now - timedelta(days=1), now)}

    assert variant_b != variant
    assert found == {(lost.id, "utm_lost"), (orphan.id, "no_visit"), (missing.id, "variant_missing"),
                     (mismatch.id, "variant_mismatch"), (not_on_order.id, "variant_not_on_order")}
    assert not {whole.id, fine.id} & {order_id for order_id, _kind in found}
    day = now.date()
    result = app.test_cli_runner().invoke(args=["analytics", "reconcile", "--company", "acme",
                                                "--since", str(day - timedelta(days=1)), "--until", str(day)])
    assert result.exit_code == 0 and "5 gaps" in result.output and "utm_source" in result.output
    bad = app.test_cli_runner().invoke(args=["analytics", "reconcile", "--company", "acme", "--since", "2026-05-10",
                                             "--until", "2026-05-01"])
    assert bad.exit_code != 0 and "before the start date" in bad.output
