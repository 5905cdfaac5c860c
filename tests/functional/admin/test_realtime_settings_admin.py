"""The real-time save's settings on the recovery settings screen: on or off, the risk
threshold (1–100), which save, its offer and the help or reassurance text; refused input
by input (422 over htmx and without it, nothing stored), saved with 303 and a flash
without JavaScript; another merchant's settings are neither shown nor changed."""
from __future__ import annotations

import html

import pytest
from test_recovery_admin import _settings_form

from storefront.accounts.models import Company
from storefront.recovery import services
from storefront.recovery.models import CartSaveConfig

HX = {"HX-Request": "true"}
URL = "/admin/recovery/settings"


def realtime(company) -> dict:
    return services.settings_for(company.id).stage("REALTIME")


def test_the_screen_shows_todays_save_as_the_default(admin):
    page = admin.get(URL).get_data(as_text=True)
    assert "Real-time save on checkout" in page
    assert 'name="realtime_threshold"' in page and 'value="50"' in page
    assert '<option value="AUTO" selected' in page and 'name="realtime_text"' in page


@pytest.mark.parametrize("headers", [{}, HX])
@pytest.mark.parametrize(("changes", "message"), [
    ({"realtime_threshold": "0"}, "Real-time save: from a churn risk of must be a whole number from 1 to 100."),
    ({"realtime_threshold": "101"}, "must be a whole number from 1 to 100."),
    ({"realtime_threshold": "²"}, "must be a whole number from 1 to 100."),
    ({"realtime_threshold": ""}, "Real-time save: from a churn risk of is required."),
    ({"realtime_save": "FREE_GIFT"}, "Choose a real-time save: which save from the list."),
    ({"realtime_text": "x" * 301}, "help or reassurance text is too long: at most 300 characters."),
    ({"realtime_offer": "51"}, "Real-time save: discount % must be a whole number from 0 to 50."),
    ({"realtime_offer_hours": "721"}, "code valid for hours must be a whole number from 0 to 720."),
    ({"realtime_save": "HELP", "realtime_text": "  "}, "Help text needs its words."),
    ({"realtime_save": "OFFER", "realtime_offer": "0"}, "An offer needs 1 to 50 %."),
])
def test_bad_input_is_refused_on_its_input_and_nothing_is_stored(db, admin, changes, message, headers):
    response = admin.post(URL, headers=headers, data=_settings_form(admin, **changes))

    assert response.status_code == 422
    body = html.unescape(response.get_data(as_text=True))
    assert message in body and 'aria-invalid="true"' in body
    assert db.session.query(CartSaveConfig).count() == 0


def test_a_nul_in_the_text_is_refused_at_the_boundary(db, admin):
    response = admin.post(URL, data=_settings_form(admin, realtime_text="help\x00me"))
    assert response.status_code == 400 and db.session.query(CartSaveConfig).count() == 0


def test_saved_without_javascript_with_a_flash_and_shown_again(db, admin, company):
    response = admin.post(URL, data=_settings_form(
        admin, realtime_threshold="72", realtime_save="HELP", realtime_text="  Call <us> on 0800 & ask  ",
        realtime_offer="0", realtime_offer_hours="0"))

    assert response.status_code == 303 and response.headers["Location"].endswith(URL)
    stage = realtime(company)
    assert (stage["enabled"], stage["threshold"], stage["save"], stage["text"]) == (
        True, 72, "HELP", "Call <us> on 0800 & ask")
    assert (stage["offer_percent"], stage["offer_hours"]) == (0, 0)
    page = admin.get(URL).get_data(as_text=True)
    assert "Recovery settings saved." in page and 'value="72"' in page
    assert "Call &lt;us&gt; on 0800 &amp; ask" in page and "<us>" not in page


def test_turned_off_over_htmx(db, admin, company):
    response = admin.post(URL, headers=HX, data=_settings_form(admin, realtime_enabled=None,
                                                                realtime_save="REASSURANCE"))

    assert response.status_code == 200 and "HX-Trigger" in response.headers
    assert "<html" not in response.get_data(as_text=True)
    stage = realtime(company)
    assert stage["enabled"] is False and stage["save"] == "REASSURANCE"


def test_another_merchants_settings_are_neither_shown_nor_changed(db, admin, company):
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    services.save_settings(other.id, enabled=True, window_start="08:00", window_end="21:00", stages=[
        {"stage": "REALTIME", "threshold": 17, "save": "HELP", "text": "Other shop's secret words"}])

    page = admin.get(URL).get_data(as_text=True)
    assert "secret words" not in page and 'value="17"' not in page
    assert admin.post(URL, data=_settings_form(admin, realtime_threshold="90")).status_code == 303

    mine, theirs = realtime(company), realtime(other)
    assert mine["threshold"] == 90 and mine["text"] == ""
    assert (theirs["threshold"], theirs["save"], theirs["text"]) == (17, "HELP", "Other shop's secret words")
