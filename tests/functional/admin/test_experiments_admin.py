"""The experiments admin: a new experiment through its WTForms form (with and without htmx),
weights refused field by field, another merchant's page or experiment refused, start and
stop, and the results screen: keep running below the minimums, the sample ratio mismatch
banner, and a winner found on real visits, orders and exposures rolled up."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from analytics_data import Traffic
from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.analytics.experiments import create_experiment, start, variants_of
from storefront.analytics.models import Experiment, ExperimentExposure
from storefront.analytics.rollups import refresh
from storefront.types import new_token, utcnow

HX = {"HX-Request": "true"}


@pytest.fixture()
def page(company):
    return make_page(company, [make_product(company)])


def _token(client) -> str:
    import re

    html = client.get("/admin/experiments/new").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(token, landing, **changes):
    return {"csrf_token": token, "page": str(landing.id), "name": "Free returns", "hypothesis": "Returns worry buyers",
            "metric": "conversion_rate", "control_weight": "50", "variants-0-variant_id": "",
            "variants-0-name": "Promise", "variants-0-headline": "Free returns", "variants-0-weight": "50", **changes}


def test_a_merchant_creates_starts_and_stops_an_experiment(admin, db, page):
    token = _token(admin)
    created = admin.post("/admin/experiments/new", data=_form(token, page))
    assert created.status_code == 303
    experiment = db.session.execute(db.select(Experiment)).scalar_one()
    assert created.headers["Location"].endswith(f"/admin/experiments/{experiment.id}")
    assert [(v.name, v.weight, v.headline) for v in variants_of(experiment.id)] == [
        ("Control", 50, None), ("Promise", 50, "Free returns")]

    started = admin.post(f"/admin/experiments/{experiment.id}/start", data={"csrf_token": token}, headers=HX)
    assert started.status_code == 200 and "Keep running" in started.get_data(as_text=True)
    again = admin.post(f"/admin/experiments/{experiment.id}/start", data={"csrf_token": token})
    assert again.status_code == 409 and "Only a draft" in again.get_data(as_text=True)
    assert admin.post(f"/admin/experiments/{experiment.id}/stop", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert experiment.status == "stopped"
    assert "Free returns" in admin.get("/admin/experiments").get_data(as_text=True)


@pytest.mark.parametrize("changes, marked", [
    ({"control_weight": "60"}, ("control_weight", "variants-0-weight")),
    ({"variants-0-weight": "100"}, ("variants-0-weight",)),
    ({"variants-0-weight": "²"}, ("variants-0-weight",)),
    ({"variants-0-name": ""}, ("variants-0-name",)),
    ({"control_weight": "30", "variants-1-name": "Third", "variants-1-weight": "30"},
     ("control_weight", "variants-0-weight", "variants-1-weight")),
    ({"variants-0-remove": "1"}, ("variants-0-remove",)),
    ({"page": "999999"}, ("page",)),
])
def test_bad_fields_are_refused_one_by_one(admin, db, page, changes, marked):
    for headers in ({}, HX):
        response = admin.post("/admin/experiments/new", data=_form(_token(admin), page, **changes), headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        for name in marked:
            assert f'id="{name}-error"' in body
    assert db.session.execute(db.select(db.func.count()).select_from(Experiment)).scalar() == 0


def test_another_merchants_page_and_experiment(admin, db, page):
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    theirs = make_page(rival, [make_product(rival)], slug="bravo-sale")
    experiment = create_experiment(rival.id, theirs.id, "Theirs", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Bravo")])
    token = _token(admin)

    assert admin.post("/admin/experiments/new", data=_form(token, theirs)).status_code == 422
    assert admin.get(f"/admin/experiments/{experiment.id}").status_code == 404
    assert admin.post(f"/admin/experiments/{experiment.id}/start", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert experiment.status == "draft"


def _traffic(db, company, page, experiment, rates, visitors_per_arm, weights=None):
    """Real visits of exposed visitors with orders at ``rates`` per arm, rolled up."""
    rng = random.Random(5)
    data = Traffic(5)
    arms = variants_of(experiment.id)
    for arm, rate, count in zip(arms, rates, weights or (visitors_per_arm,) * len(arms), strict=True):
        for _ in range(count):
            visitor = new_token()
            at = experiment.started_at + timedelta(minutes=rng.randrange(60 * 24 * 7))
            db.session.add(ExperimentExposure(company_id=company.id, experiment_id=experiment.id, variant_id=arm.id,
                                              visitor_id=visitor, created_at=at))
            visit = data.visit(company, page, at, visitor=visitor)
            data.event(visit, "page_view", at)
            if rng.random() < rate:
                data.order(visit, at + timedelta(minutes=5), 3000)
    db.session.commit()
    refresh(now=utcnow())


def test_results_keep_running_below_the_minimums(admin, db, company, page):
    experiment = create_experiment(company.id, page.id, "Young", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Bravo")])
    start(experiment, now=utcnow() - timedelta(days=2))
    _traffic(db, company, page, experiment, (0.1, 0.2), 50)

    body = admin.get(f"/admin/experiments/{experiment.id}").get_data(as_text=True)

    assert "Keep running" in body and "more conversions" in body and "more days" in body
    assert "beats the control" not in body


def test_a_winner_on_real_rolled_up_data(app, admin, db, company, page):
    app.config.update(EXPERIMENT_MIN_CONVERSIONS=20, EXPERIMENT_MIN_DAYS=7)
    experiment = create_experiment(company.id, page.id, "Clear", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Bravo")])
    start(experiment, now=utcnow() - timedelta(days=8))
    _traffic(db, company, page, experiment, (0.05, 0.25), 600)

    body = admin.get(f"/admin/experiments/{experiment.id}").get_data(as_text=True)

    assert "B beats the control" in body and "Keep running" not in body, body[body.find('<p class="flash'):][:3000]


def test_a_sample_ratio_mismatch_hides_the_winner(app, admin, db, company, page):
    app.config.update(EXPERIMENT_MIN_CONVERSIONS=20, EXPERIMENT_MIN_DAYS=7)
    experiment = create_experiment(company.id, page.id, "Broken", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Bravo")])
    start(experiment, now=utcnow() - timedelta(days=8))
    _traffic(db, company, page, experiment, (0.05, 0.25), 0, weights=(400, 250))

    body = admin.get(f"/admin/experiments/{experiment.id}").get_data(as_text=True)

    assert "Sample ratio mismatch" in body and "beats the control" not in body


def test_concluding_makes_the_winner_the_page_with_an_audit(app, admin, db, company, page):
    app.config["EXPERIMENT_CACHE_SECONDS"] = 0
    experiment = create_experiment(company.id, page.id, "Conclude", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Free returns, always")])
    other = create_experiment(company.id, page.id, "Other", "", "conversion_rate",
                              [("Control", 50, None), ("C", 50, "Other")])
    start(experiment)
    token = _token(admin)
    winner = variants_of(experiment.id)[1]

    refused = admin.post(f"/admin/experiments/{experiment.id}/conclude",
                         data={"csrf_token": token, "variant": str(variants_of(other.id)[1].id)})
    assert refused.status_code == 409 and "Choose one of this experiment" in refused.get_data(as_text=True)
    done = admin.post(f"/admin/experiments/{experiment.id}/conclude", data={"csrf_token": token, "variant": str(winner.id)},
                      headers=HX)

    assert done.status_code == 200 and "is the page now" in done.get_data(as_text=True)
    db.session.expire_all()
    assert (experiment.status, experiment.winner_variant_id, experiment.previous_headline) == (
        "concluded", winner.id, "Summer Sale")
    assert experiment.concluded_at is not None and experiment.concluded_by_id is not None
    for _ in range(4):  # every visitor now sees the winner's headline
        assert "Free returns, always" in app.test_client().get("/lp/summer-sale").get_data(as_text=True)
    again = admin.post(f"/admin/experiments/{experiment.id}/conclude", data={"csrf_token": token, "variant": str(winner.id)})
    assert again.status_code == 409


@pytest.mark.parametrize("value", ["", "abc", "²", "-3", str(2**31)])
def test_an_unreadable_winner_is_refused_with_the_reason_and_concludes_nothing(admin, db, company, page, value):
    experiment = create_experiment(company.id, page.id, "Unreadable", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Free returns, always")])
    start(experiment)
    refused = admin.post(f"/admin/experiments/{experiment.id}/conclude",
                         data={"csrf_token": _token(admin), "variant": value})
    assert refused.status_code == 409 and "Choose one of this experiment" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert experiment.status == "running" and experiment.winner_variant_id is None
