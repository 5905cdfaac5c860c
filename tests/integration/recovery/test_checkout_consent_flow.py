"""The checkout's consent boxes drive the SMS and voice stages end to end: a shopper ticks
"text me" (not "call me") at checkout and leaves; the SMS nudge reaches the local Twilio
server, and the call is cancelled for want of consent. Without the tick, no text either."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from factories import make_page, make_product
from helpers import interventions

from storefront.cart.lifecycle import abandon_idle_carts
from storefront.cart.models import Cart
from storefront.recovery import delivery, services
from storefront.recovery.models import CartSaveAttempt

HX = {"HX-Request": "true"}
PHONE = "+15125550134"


@pytest.fixture()
def twilio(app, twilio_server, live_server):
    twilio_server.reset()
    app.config["PUBLIC_URL"] = live_server
    app.config["REDIS_URL"] = ""  # ticks send in-process
    return twilio_server


def _leave_checkout(app, db, company, tick_sms: bool):
    client = app.test_client()
    tee = make_product(company, "Wool Coat", price_cents=12000, stock=5)
    make_page(company, [tee])
    page = client.get("/lp/summer-sale").get_data(as_text=True)
    headers = {"X-CSRFToken": re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1), **HX}
    client.post("/cart/add", data={"variant_id": tee.variants[0].id, "quantity": 1}, headers=headers)
    client.get("/checkout")
    for name, value in (("email", "ada@example.com"), ("phone", "(512) 555-0134"), ("country", "US")):
        assert client.post(f"/checkout/field/{name}", data={name: value}, headers=headers).status_code == 200
    if tick_sms:
        response = client.post("/checkout/field/sms_consent", data={"sms_consent": "yes"}, headers=headers)
        assert response.status_code == 200
    db.session.expire_all()
    cart = db.session.execute(db.select(Cart)).scalar_one()
    left = cart.updated_at
    assert abandon_idle_carts(left + timedelta(minutes=21)) == 1
    services.lifecycle(left + timedelta(minutes=21))
    return db.session.execute(db.select(CartSaveAttempt).filter_by(cart_id=cart.id)).scalar_one()


def test_the_ticked_box_lets_the_text_go_and_the_unticked_one_stops_the_call(app, db, company, smtp, twilio):
    attempt = _leave_checkout(app, db, company, tick_sms=True)
    planned = interventions(attempt)
    assert attempt.phone == PHONE and {"SMS_NUDGE", "VOICE_CALL"} <= set(planned)

    delivery.claim_due(planned["SMS_NUDGE"].scheduled_at)
    assert interventions(attempt)["SMS_NUDGE"].status == "SENT"
    [text] = twilio.messages_to(PHONE)
    assert "/recover/" in text["body"]

    delivery.claim_due(planned["VOICE_CALL"].scheduled_at)
    call = interventions(attempt)["VOICE_CALL"]
    assert call.status == "CANCELLED" and call.status_reason.startswith("no VOICE consent")


def test_without_the_tick_no_text_goes(app, db, company, smtp, twilio):
    attempt = _leave_checkout(app, db, company, tick_sms=False)
    nudge = interventions(attempt)["SMS_NUDGE"]
    delivery.claim_due(nudge.scheduled_at)
    nudge = interventions(attempt)["SMS_NUDGE"]
    assert nudge.status == "CANCELLED" and nudge.status_reason.startswith("no SMS consent")
    assert twilio.messages_to(PHONE) == []
