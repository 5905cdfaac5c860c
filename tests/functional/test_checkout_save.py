"""The in-page save on checkout (recovery.realtime): the htmx poll brings it when the
shopper's field events score a high churn risk, a full page load shows it with JavaScript
off, and the shopper's answer is recorded once on a REALTIME intervention of that cart."""
from __future__ import annotations

import re

import pytest
from test_field_events import batch, event, open_checkout, post

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.recovery.models import CartIntervention, CartSaveAttempt, CartSaveConfig
from storefront.recovery.stages import default_stages

HX = {"HX-Request": "true"}


def risky(client, shopper, events=None):
    """Post events scoring 50 of 100 (three form errors and exit intent) or ``events``."""
    events = events or [event("VALIDATION_ERROR", "email", valid=False), event("VALIDATION_ERROR", "email", valid=False),
                        event("VALIDATION_ERROR", "phone", valid=False), event("EXIT_INTENT", "page")]
    assert post(client, batch(shopper, events)).status_code == 204


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def saves(db) -> list[CartIntervention]:
    db.session.expire_all()
    return db.session.execute(db.select(CartIntervention).filter_by(stage="REALTIME")).scalars().all()


@pytest.fixture()
def shopper(client, db, company):
    return open_checkout(client, company)


def test_the_checkout_page_polls_for_the_save_and_nothing_shows_while_the_risk_is_low(client, db, shopper):
    assert 'hx-get="/checkout/save" hx-trigger="every 10s"' in shopper["page"]
    post(client, batch(shopper, [event("FOCUS", "email"), event("EXIT_INTENT", "page")]))  # 30 of 100

    response = client.get("/checkout/save", headers=HX)

    assert response.status_code == 204 and response.headers["Cache-Control"] == "no-store"
    assert saves(db) == []


def test_a_high_risk_gets_one_offer_over_htmx_recorded_as_a_realtime_intervention(client, db, company, shopper):
    risky(client, shopper)

    response = client.get("/checkout/save", headers=HX)

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert 'id="checkout-save"' in html and "Take 5 % off this order" in html and "<html" not in html
    [save] = saves(db)
    code = save.offer_code
    assert code.startswith("SAVE-") and code in html
    assert (save.status, save.channel, save.type, save.offer_percent) == ("SENT", "PAGE", "REALTIME", 5)
    assert save.provider_response["risk"] == 50 and save.provider_response["kind"] == "OFFER"
    assert "churn risk 50 of 100" in save.schedule_reason
    attempt = db.session.get(CartSaveAttempt, save.attempt_id)
    assert attempt.status == "PENDING" and attempt.company_id == company.id
    # Asked again (a second tab, a replayed poll): the same save, never a second one.
    again = client.get("/checkout/save", headers=HX).get_data(as_text=True)
    assert code in again and len(saves(db)) == 1


def test_accepting_over_htmx_applies_the_code_once(client, db, shopper):
    risky(client, shopper)
    html = client.get("/checkout/save", headers=HX).get_data(as_text=True)
    [save] = saves(db)
    url = f"/checkout/save/{save.id}/accept"
    assert f'action="{url}"' in html and f'hx-post="{url}"' in html

    response = client.post(url, headers={**HX, "X-CSRFToken": csrf_of(html)})

    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Code {save.offer_code} is applied" in body
    assert 'id="order-summary"' in body and 'hx-swap-oob="true"' in body and "Discount" in body
    [save] = saves(db)
    cart = db.session.get(Cart, db.session.get(CartSaveAttempt, save.attempt_id).cart_id)
    assert cart.promotion_code == save.offer_code
    assert save.status == "CLICKED" and save.provider_response["response"] == "ACCEPTED"
    first_click, version = save.clicked_at, cart.version
    history = len(save.attempt.stage_history)

    replay = client.post(url, headers={**HX, "X-CSRFToken": csrf_of(html)})
    dismiss = client.post(f"/checkout/save/{save.id}/dismiss", headers={**HX, "X-CSRFToken": csrf_of(html)})

    assert replay.status_code == 200 and dismiss.status_code == 200
    [save] = saves(db)
    assert save.clicked_at == first_click and save.provider_response["response"] == "ACCEPTED"
    assert len(save.attempt.stage_history) == history and db.session.get(Cart, cart.id).version == version
    assert client.get("/checkout/save", headers=HX).status_code == 286  # the poll stops


def test_with_javascript_off_the_page_shows_the_save_and_a_plain_form_takes_the_answer(client, db, shopper):
    risky(client, shopper)  # events sent earlier (or from another tab); this load has no script

    page = client.get("/checkout").get_data(as_text=True)

    [save] = saves(db)
    assert 'class="checkout-save"' in page and save.offer_code in page
    assert f'<form action="/checkout/save/{save.id}/accept" method="post"' in page
    response = client.post(f"/checkout/save/{save.id}/accept", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/checkout#payment")
    after = client.get("/checkout").get_data(as_text=True)
    assert f"Code {save.offer_code} is applied to your order." in after  # the flash
    assert "Discount" in after and 'class="checkout-save"' not in after
    assert client.get("/checkout/save").status_code == 303  # the poll's URL without htmx


def test_no_thanks_is_recorded_and_the_save_never_shows_again(client, db, shopper):
    risky(client, shopper)
    page = client.get("/checkout").get_data(as_text=True)
    [save] = saves(db)

    response = client.post(f"/checkout/save/{save.id}/dismiss", data={"csrf_token": csrf_of(page)})

    assert response.status_code == 303
    [save] = saves(db)
    assert save.status == "SENT" and save.provider_response["response"] == "IGNORED" and save.clicked_at is None
    risky(client, shopper)
    assert 'class="checkout-save"' not in client.get("/checkout").get_data(as_text=True)
    assert client.get("/checkout/save", headers=HX).status_code == 286 and len(saves(db)) == 1


def test_idling_on_the_card_gets_the_payment_help_without_a_code(client, db, shopper):
    risky(client, shopper, [event("FOCUS", "card_number", group="payment"),
                            event("BLUR", "card_number", focus_ms=120_000), event("TAB_HIDDEN", "page"),
                            event("TAB_HIDDEN", "page")] + [event("VALIDATION_ERROR", "email", valid=False)] * 3)

    html = client.get("/checkout/save", headers=HX).get_data(as_text=True)

    assert "Having trouble with the card?" in html and "Try another card" in html
    [save] = saves(db)
    assert save.offer_code is None and save.provider_response["kind"] == "PAYMENT"
    assert save.provider_response["risk"] == 25 + 20 + 10 and save.angle == "PAYMENT"


@pytest.mark.parametrize("setting", ["stage_off", "flow_off", "opted_out"])
def test_no_save_when_the_merchant_turned_it_off_or_the_shopper_opted_out(client, db, company, shopper, setting):
    if setting == "opted_out":
        risky(client, shopper)
        client.post("/checkout/consent", data={"csrf_token": shopper["csrf"]})
    else:
        stages = default_stages()
        stages[0]["enabled"] = setting != "stage_off"
        db.session.add(CartSaveConfig(company_id=company.id, enabled=setting != "flow_off", stages=stages))
        db.session.commit()
        risky(client, shopper)

    # Off: nothing will come, the page stops asking. Opted out: its events were deleted with
    # the rest of what was captured, so the score is low.
    assert client.get("/checkout/save", headers=HX).status_code == (204 if setting == "opted_out" else 286)
    assert 'class="checkout-save"' not in client.get("/checkout").get_data(as_text=True)
    assert saves(db) == []


@pytest.mark.parametrize("path", ["/checkout/save/abc/accept", "/checkout/save/99999999999/accept",
                                  "/checkout/save/%C2%B2/dismiss", "/checkout/save/-1/accept",
                                  "/checkout/save/12345/accept"])
def test_malformed_or_unknown_ids_are_404(client, db, shopper, path):
    risky(client, shopper)
    client.get("/checkout/save", headers=HX)
    response = client.post(path, headers={**HX, "X-CSRFToken": shopper["csrf"]})
    assert response.status_code == 404
    assert saves(db)[0].provider_response["response"] is None


def test_another_shoppers_or_merchants_save_is_404(app, client, db, company, shopper):
    other = Company(name="Other Shop", slug="other", currency="USD")
    db.session.add(other)
    db.session.commit()
    elsewhere = app.test_client()
    theirs = open_checkout(elsewhere, other, slug="other-sale", title="Other Tee")
    risky(elsewhere, theirs)
    elsewhere.get("/checkout/save", headers=HX)
    [their_save] = saves(db)
    risky(client, shopper)
    client.get("/checkout/save", headers=HX)

    for action in ("accept", "dismiss"):
        response = client.post(f"/checkout/save/{their_save.id}/{action}", headers={**HX, "X-CSRFToken": shopper["csrf"]})
        assert response.status_code == 404
    stranger = app.test_client()  # no cart at all
    assert stranger.post(f"/checkout/save/{their_save.id}/accept",
                         headers={**HX, "X-CSRFToken": shopper["csrf"]}).status_code in (400, 404)
    assert stranger.get("/checkout/save", headers=HX).status_code == 286
    db.session.expire_all()
    assert db.session.get(CartIntervention, their_save.id).provider_response["response"] is None
    assert db.session.get(CartIntervention, their_save.id).company_id == other.id


def test_back_on_a_phone_shows_the_save_whatever_the_score(client, db, shopper):
    assert 'data-back-url="/checkout/save?back=1"' in shopper["page"]
    assert 'src="/static/js/checkout-save.js"' in shopper["page"]
    assert client.get("/checkout/save", headers=HX).status_code == 204  # no events: nothing

    response = client.get("/checkout/save?back=1", headers=HX)

    assert response.status_code == 200 and "Take 5 % off this order" in response.get_data(as_text=True)
    [save] = saves(db)
    assert save.provider_response["trigger"] == "BACK" and save.provider_response["parts"] == {"EXIT": 30}
    # Once: a second Back (or a replay) shows the same save, never a second one.
    assert client.get("/checkout/save?back=1", headers=HX).status_code == 200 and len(saves(db)) == 1
    page = client.get("/checkout").get_data(as_text=True)
    assert "checkout-save.js" not in page  # the cart had its save: no more Back retention


@pytest.mark.parametrize("value", ["0", "2", "yes", "", "1" * 100, "%00"])
def test_any_other_back_value_is_400(client, db, shopper, value):
    assert client.get(f"/checkout/save?back={value}", headers=HX).status_code == 400
    assert saves(db) == []
