"""The in-page save on checkout follows the merchant's real-time settings (recovery.realtime,
REALTIME stage): it shows from the merchant's threshold, the save they chose with their
text (escaped), and nothing when they turned it off; over htmx and with JavaScript off."""
from __future__ import annotations

import pytest
from test_checkout_save import HX, risky, saves
from test_field_events import event, open_checkout

from storefront.recovery import services

MARKUP = "Questions? Call <b>0800 123</b> & we'll help"


def configure(company, **realtime) -> None:
    services.save_settings(company.id, enabled=True, stages=[{"stage": "REALTIME", **realtime}],
                           window_start="08:00", window_end="21:00")


@pytest.fixture()
def shopper(client, db, company):
    return open_checkout(client, company)


def test_below_the_merchants_threshold_nothing_shows_and_at_it_the_chosen_save_does(client, db, company, shopper):
    configure(company, threshold=51, save="HELP", text=MARKUP)
    risky(client, shopper)  # 50 of 100

    assert client.get("/checkout/save", headers=HX).status_code == 204
    assert 'class="checkout-save"' not in client.get("/checkout").get_data(as_text=True) and saves(db) == []

    configure(company, threshold=50, save="HELP", text=MARKUP)
    response = client.get("/checkout/save", headers=HX)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-save-kind="HELP"' in html
    assert "Questions? Call &lt;b&gt;0800 123&lt;/b&gt; &amp; we&#39;ll help" in html and "<b>0800" not in html
    assert "% off" not in html
    [save] = saves(db)
    assert save.offer_code is None and save.provider_response["kind"] == "HELP"
    assert save.provider_response["text"] == MARKUP and save.provider_response["threshold"] == 50


def test_a_lower_threshold_shows_the_save_on_exit_intent_alone_without_javascript(client, db, company, shopper):
    configure(company, threshold=30, save="REASSURANCE", text="Free returns for 60 days.")
    risky(client, shopper, [event("FOCUS", "email"), event("EXIT_INTENT", "page")])  # 30 of 100

    page = client.get("/checkout").get_data(as_text=True)

    assert 'data-save-kind="REASSURANCE"' in page and "Free returns for 60 days." in page
    assert "processed securely by Stripe. Nothing is charged" not in page
    [save] = saves(db)
    assert save.provider_response["kind"] == "REASSURANCE" and save.provider_response["risk"] == 30
    # at most once per cart: the page and the poll show the same one save
    assert client.get("/checkout/save", headers=HX).get_data(as_text=True).count('id="checkout-save"') == 1
    assert len(saves(db)) == 1


def test_always_the_payment_alternative_even_when_the_card_is_not_the_trouble(client, db, company, shopper):
    configure(company, save="PAYMENT")
    risky(client, shopper)  # exit intent and form errors: automatic would offer a code

    html = client.get("/checkout/save", headers=HX).get_data(as_text=True)

    assert 'data-save-kind="PAYMENT"' in html and "Try another card" in html
    [save] = saves(db)
    assert save.offer_code is None and save.angle == "EXIT"


def test_always_the_offer_with_the_merchants_percent_when_the_card_is_the_trouble(client, db, company, shopper):
    configure(company, save="OFFER", offer_percent=12, offer_hours=2)
    risky(client, shopper, [event("FOCUS", "card_number", group="payment"),
                            event("BLUR", "card_number", focus_ms=120_000), event("TAB_HIDDEN", "page"),
                            event("TAB_HIDDEN", "page")] + [event("VALIDATION_ERROR", "email", valid=False)] * 3)

    page = client.get("/checkout").get_data(as_text=True)

    [save] = saves(db)
    assert save.angle == "PAYMENT" and save.offer_percent == 12 and save.offer_code in page
    assert "Take 12 % off this order" in page


@pytest.mark.parametrize("htmx", [True, False])
def test_turned_off_nothing_shows_and_the_page_stops_asking(client, db, company, shopper, htmx):
    configure(company, enabled=False, threshold=1)
    risky(client, shopper)

    if htmx:
        assert client.get("/checkout/save", headers=HX).status_code == 286
    assert 'class="checkout-save"' not in client.get("/checkout").get_data(as_text=True)
    assert saves(db) == []
