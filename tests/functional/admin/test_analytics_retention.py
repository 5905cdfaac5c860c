"""The event retention setting at /admin/analytics/retention: shown, saved with and
without htmx, refused with its reason when malformed, out of bounds or not ASCII digits,
and only ever the signed-in merchant's own."""
from __future__ import annotations

import pytest
from factories import make_user, sign_in

from storefront.accounts.models import Company

HX = {"HX-Request": "true"}
URL = "/admin/analytics/retention"


@pytest.fixture()
def admin(client, company, db):
    make_user(company)
    assert sign_in(client).status_code == 303
    return client


def csrf(client) -> str:
    import re

    html = client.get(URL).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_setting_is_shown_and_saved_on_both_paths(admin, company, db):
    rival = Company(name="Bravo", slug="bravo", currency="USD")
    db.session.add(rival)
    db.session.commit()
    page = admin.get(URL)
    assert page.status_code == 200 and "400 days" in page.get_data(as_text=True)

    saved = admin.post(URL, data={"days": "90", "csrf_token": csrf(admin)})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(URL)
    db.session.refresh(company)
    assert company.event_retention_days == 90

    fragment = admin.post(URL, data={"days": "365", "csrf_token": csrf(admin)}, headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and "365 days" in body
    db.session.refresh(company)
    db.session.refresh(rival)
    assert (company.event_retention_days, rival.event_retention_days) == (365, 400)
    assert "365 days" in admin.get("/admin/analytics").get_data(as_text=True)


@pytest.mark.parametrize("days", ["30", "1826", "99999999999999999999", "٣٠٠", "9²", "ninety", "", "-5", "90\x00"])
def test_a_bad_number_is_refused_with_its_reason(admin, company, db, days):
    for headers in ({}, HX):
        response = admin.post(URL, data={"days": days, "csrf_token": csrf(admin)}, headers=headers)
        assert 400 <= response.status_code < 500
        if response.status_code == 422:
            assert "31" in response.get_data(as_text=True)
    db.session.refresh(company)
    assert company.event_retention_days == 400


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get(URL).status_code in (302, 303)
