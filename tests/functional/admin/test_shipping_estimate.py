"""A shipping method's delivery estimate (min and max business days) in the shipping admin:
saved with the method, shown in the zone's list, reaching pricing's cached zones, and bad
input refused field by field (422, the input kept); another merchant's method is a 404."""
from __future__ import annotations

import html

import pytest
from factories import csrf_token, make_user, make_zone, sign_in

from storefront.accounts.models import Company
from storefront.pricing.context import load_zones

HX = {"HX-Request": "true"}
BASE = {"name": "Standard", "type": "FLAT_RATE", "amount": "4.90", "active": "1"}


@pytest.fixture()
def admin(client, company):
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


@pytest.fixture()
def token(admin) -> str:
    return csrf_token(admin, "/admin/shipping")


def post(client, token, path, data, htmx=False):
    return client.post(path, data={**data, "csrf_token": token}, headers=HX if htmx else {})


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_estimate_is_saved_listed_and_priced_with(admin, token, db, company):
    zone = make_zone(company)
    method = zone.methods[0]
    load_zones(company.id)  # cached before the change: the save must drop it

    saved = post(admin, token, f"/admin/shipping/methods/{method.id}", {**BASE, "min_days": "2", "max_days": "4"})

    db.session.refresh(method)
    assert saved.status_code == 303 and (method.min_days, method.max_days) == (2, 4)
    rule = load_zones(company.id)[0].methods[0]
    assert (rule.min_days, rule.max_days) == (2, 4)
    assert "2–4 business days" in text(admin.get(f"/admin/shipping/zones/{zone.id}"))
    assert 'value="2"' in text(admin.get(f"/admin/shipping/methods/{method.id}"))

    cleared = post(admin, token, f"/admin/shipping/methods/{method.id}", BASE)
    db.session.refresh(method)
    assert cleared.status_code == 303 and (method.min_days, method.max_days) == (None, None)


@pytest.mark.parametrize("days, field, message", [
    ({"min_days": "5", "max_days": "3"}, "max_days", "Delivery up to must be at least delivery from."),
    ({"min_days": "2", "max_days": "61"}, "max_days", "must be a whole number from 0 to 60"),
    ({"min_days": "-1", "max_days": "3"}, "min_days", "must be a whole number from 0 to 60"),
    ({"min_days": "²", "max_days": "3"}, "min_days", "must be a whole number from 0 to 60"),
    ({"min_days": "9" * 40, "max_days": "3"}, "min_days", "must be a whole number from 0 to 60"),
    ({"min_days": "2"}, "max_days", "Fill in both delivery days, or neither."),
    ({"max_days": "2"}, "min_days", "Fill in both delivery days, or neither."),
])
def test_bad_estimates_are_refused_field_by_field(admin, token, db, company, days, field, message):
    zone = make_zone(company)
    method = zone.methods[0]
    path = f"/admin/shipping/methods/{method.id}"

    for htmx in (False, True):
        response = post(admin, token, path, {**BASE, **days}, htmx=htmx)
        page = text(response)
        assert response.status_code == 422 and message in page and f'href="#{field}"' in page
    db.session.refresh(method)
    assert (method.min_days, method.max_days, method.amount_cents) == (None, None, 595)


def test_a_nul_character_is_refused_at_the_input_boundary(admin, token, db, company):
    method = make_zone(company).methods[0]

    answer = post(admin, token, f"/admin/shipping/methods/{method.id}", {**BASE, "min_days": "1\x00", "max_days": "3"})

    db.session.refresh(method)
    assert answer.status_code == 400 and "min_days" in text(answer) and method.min_days is None


def test_another_merchants_method_is_404(admin, token, db):
    other = Company(name="Rival Goods", slug="rival", currency="EUR")
    db.session.add(other)
    db.session.commit()
    method = make_zone(other, countries=("DE",)).methods[0]

    answer = post(admin, token, f"/admin/shipping/methods/{method.id}", {**BASE, "min_days": "1", "max_days": "2"})

    db.session.refresh(method)
    assert answer.status_code == 404 and method.min_days is None
