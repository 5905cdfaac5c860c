"""The experiment form with several variants: each variant is a copy of the page to edit in
the builder; "Add a variant" without JavaScript; editing a draft (a variant removed with its
copy) and a running experiment (removal, addition and a new split refused on their inputs);
hand-made posts (an entry number that is not ASCII digits, another merchant's experiment)."""
from __future__ import annotations

import re

import pytest
from factories import make_page, make_product

from storefront.accounts.models import Company
from storefront.analytics.experiments import create_experiment, start, variants_of
from storefront.analytics.models import Experiment
from storefront.landing.models import LandingPage, LandingPageProduct

HX = {"HX-Request": "true"}


@pytest.fixture()
def page(company):
    return make_page(company, [make_product(company, title="Linen shirt"), make_product(company, title="Straw hat")])


def _token(client) -> str:
    html = client.get("/admin/experiments/new").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _three_way(token, landing, **changes):
    return {"csrf_token": token, "page": str(landing.id), "name": "Three ways", "hypothesis": "",
            "metric": "add_to_cart_rate", "control_weight": "34",
            "variants-0-variant_id": "", "variants-0-name": "Promise", "variants-0-headline": "Free returns",
            "variants-0-weight": "33",
            "variants-1-variant_id": "", "variants-1-name": "Plain", "variants-1-headline": "",
            "variants-1-weight": "33", **changes}


def test_each_variant_is_a_copy_of_the_page_to_edit_in_the_builder(admin, db, page):
    created = admin.post("/admin/experiments/new", data=_three_way(_token(admin), page))
    assert created.status_code == 303

    experiment = db.session.execute(db.select(Experiment)).scalar_one()
    control, promise, plain = variants_of(experiment.id)
    assert (control.page_id, [control.weight, promise.weight, plain.weight]) == (None, [34, 33, 33])
    for variant, heading in ((promise, "Free returns"), (plain, "Summer Sale")):
        version = db.session.get(LandingPage, variant.page_id)
        assert version.status == "variant" and version.company_id == page.company_id
        assert [(s.type, s.settings.get("heading")) for s in version.sections] == [
            ("hero", heading), ("product_grid", "Bestsellers")]
        items = db.session.execute(db.select(LandingPageProduct).filter_by(landing_page_id=version.id)
                                   .order_by(LandingPageProduct.position)).scalars().all()
        assert [i.product.title for i in items] == ["Linen shirt", "Straw hat"]
    screen = admin.get(f"/admin/experiments/{experiment.id}").get_data(as_text=True)
    assert f"/admin/pages/{promise.page_id}" in screen and f"/admin/pages/{plain.page_id}" in screen
    # The copies are edited in the builder, never listed among the pages or published.
    editor = admin.get(f"/admin/pages/{promise.page_id}").get_data(as_text=True)
    assert f'href="/admin/experiments/{experiment.id}">Three ways</a>' in editor and "Variant “Promise”" in editor
    assert ">Publish</button>" not in editor and ">Archive</button>" not in editor
    listing = admin.get("/admin/pages").get_data(as_text=True)
    assert f"/admin/pages/{promise.page_id}\"" not in listing and f"/admin/pages/{page.id}\"" in listing
    token = _token(admin)
    refused = admin.post(f"/admin/pages/{promise.page_id}/status", data={"csrf_token": token, "status": "published"})
    assert refused.status_code in (303, 409)
    db.session.expire_all()
    assert db.session.get(LandingPage, promise.page_id).status == "variant"


def test_add_a_variant_without_javascript_saves_nothing(admin, db, page):
    data = {**_three_way(_token(admin), page), "add_variant": "1"}
    for headers in ({}, HX):
        response = admin.post("/admin/experiments/new", data=data, headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'name="variants-2-name"' in body and 'value="Promise"' in body
    assert db.session.execute(db.select(db.func.count()).select_from(Experiment)).scalar() == 0


def test_a_hand_made_entry_number_is_ignored_not_a_crash(admin, db, page):
    data = {**_three_way(_token(admin), page), "variants-²-name": "X", "variants-99999999999-weight": "5"}
    assert admin.post("/admin/experiments/new", data=data).status_code == 303


def test_editing_a_draft_removes_a_variant_and_its_copy(admin, db, company, page):
    experiment = create_experiment(company.id, page.id, "Draft", "", "conversion_rate",
                                   [("Control", 34, None), ("B", 33, "Bee"), ("C", 33, None)])
    _control, b, c = variants_of(experiment.id)
    token = _token(admin)
    form = {"csrf_token": token, "name": "Draft", "hypothesis": "", "metric": "conversion_rate",
            "control_weight": "50", "variants-0-variant_id": str(b.id), "variants-0-name": "B",
            "variants-0-weight": "50", "variants-1-variant_id": str(c.id), "variants-1-name": "C",
            "variants-1-weight": "33", "variants-1-remove": "1"}

    assert admin.post(f"/admin/experiments/{experiment.id}/edit", data=form).status_code == 303

    db.session.expire_all()
    assert [(v.name, v.weight) for v in variants_of(experiment.id)] == [("Control", 50), ("B", 50)]
    assert db.session.get(LandingPage, c.page_id) is None


def test_a_running_experiment_keeps_its_variants_and_split(admin, db, company, page):
    experiment = create_experiment(company.id, page.id, "Live", "", "conversion_rate",
                                   [("Control", 34, None), ("B", 33, "Bee"), ("C", 33, None)])
    start(experiment)
    _control, b, c = variants_of(experiment.id)
    token = _token(admin)
    base = {"csrf_token": token, "name": "Live, renamed", "hypothesis": "", "metric": "conversion_rate",
            "control_weight": "34", "variants-0-variant_id": str(b.id), "variants-0-name": "B",
            "variants-0-weight": "33", "variants-1-variant_id": str(c.id), "variants-1-name": "C",
            "variants-1-weight": "33"}
    cases = [({"variants-1-remove": "1", "control_weight": "67"}, "variants-1-remove"),
             ({"control_weight": "40", "variants-0-weight": "27"}, "variants-0-weight"),
             ({"variants-2-name": "D", "variants-2-weight": "1", "control_weight": "33"}, "variants-2-name")]
    for changes, marked in cases:
        for headers in ({}, HX):
            response = admin.post(f"/admin/experiments/{experiment.id}/edit", data={**base, **changes},
                                  headers=headers)
            assert response.status_code == 422 and f'id="{marked}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert [v.weight for v in variants_of(experiment.id)] == [34, 33, 33] and experiment.name == "Live"

    assert admin.post(f"/admin/experiments/{experiment.id}/edit", data=base).status_code == 303
    db.session.expire_all()
    assert experiment.name == "Live, renamed"


def test_another_merchants_experiment_cannot_be_edited(admin, db, page):
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    theirs = make_page(rival, [make_product(rival)], slug="bravo-sale")
    experiment = create_experiment(rival.id, theirs.id, "Theirs", "", "conversion_rate",
                                   [("Control", 50, None), ("B", 50, "Bravo")])
    version_id = variants_of(experiment.id)[1].page_id
    token = _token(admin)

    assert admin.get(f"/admin/experiments/{experiment.id}/edit").status_code == 404
    assert admin.post(f"/admin/experiments/{experiment.id}/edit", data={"csrf_token": token}).status_code == 404
    assert admin.get(f"/admin/pages/{version_id}").status_code == 404
