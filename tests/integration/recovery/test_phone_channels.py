"""SMS and voice stages end to end: the real twilio SDK against the local Twilio-compatible
server, which calls the app's webhooks (served on loopback) signed with the auth token.
The SMS nudge carries the restore link; a STOP cancels what is pending for that number;
the call's digits 1 (text me the link) and 2 (no more calls) reach the flow, and the
call's outcome is recorded on the intervention."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import EMAIL, abandoned_cart, interventions

from storefront.notifications import consent
from storefront.notifications.models import SMS, VOICE
from storefront.recovery import delivery

PHONE = "+15125550100"  # Austin: America/Chicago
WORDS = "Text or call me about my cart. Reply STOP to stop."


def eight_in_austin() -> datetime:
    today = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
    return datetime(today.year, today.month, today.day, 8, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


@pytest.fixture()
def twilio(app, twilio_server, live_server):
    twilio_server.reset()
    app.config["PUBLIC_URL"] = live_server
    app.config["REDIS_URL"] = ""  # ticks send in-process
    return twilio_server


def phone_cart(db, company, channels=(SMS, VOICE)):
    for channel in channels:
        consent.record_consent(company.id, PHONE, WORDS, "CHECKOUT", channel=channel)
    return abandoned_cart(company, fields={"email": EMAIL, "phone": PHONE}, price_cents=6000, left=eight_in_austin())


def test_the_sms_nudge_goes_out_with_the_restore_link(app, db, company, smtp, twilio):
    cart, attempt, left = phone_cart(db, company)
    planned = interventions(attempt)
    assert planned["SMS_NUDGE"].scheduled_at == left + timedelta(hours=4)
    assert planned["VOICE_CALL"].scheduled_at == left + timedelta(hours=48)

    delivery.claim_due(left + timedelta(hours=4))
    [text] = twilio.messages_to(PHONE)
    nudge = interventions(attempt)["SMS_NUDGE"]
    assert nudge.status == "SENT" and text["sid"] == nudge.provider_response["provider_id"]
    assert f"/recover/{nudge.token}" in text["body"] and text["body"].startswith("Acme Apparel:")
    assert len(smtp) == 1  # the 1 h reminder went out on the same tick
    twilio.wait_for(lambda: interventions(attempt)["SMS_NUDGE"].provider_response.get("status") == "DELIVERED")


def test_stop_cancels_the_pending_texts_to_that_number(app, db, company, smtp, twilio, live_server):
    cart, attempt, left = phone_cart(db, company)
    answer = twilio.inbound(PHONE, "STOP", f"{live_server}/webhooks/twilio/sms")
    assert answer["status"] == 200
    db.session.expire_all()
    rows = interventions(attempt)
    assert rows["SMS_NUDGE"].status == "CANCELLED" and rows["SMS_NUDGE"].status_reason == "the shopper opted out of SMS"
    assert rows["VOICE_CALL"].status == "SCHEDULED"  # consent to calls is separate
    delivery.claim_due(left + timedelta(hours=5))
    assert twilio.messages_to(PHONE) == []


def test_without_consent_the_text_is_cancelled_at_send_time(app, db, company, smtp, twilio):
    cart, attempt, left = phone_cart(db, company, channels=(VOICE,))
    delivery.claim_due(left + timedelta(hours=4))
    nudge = interventions(attempt)["SMS_NUDGE"]
    assert nudge.status == "CANCELLED" and nudge.status_reason.startswith("no SMS consent")
    assert twilio.messages_to(PHONE) == []


@pytest.mark.parametrize("digit", ["1", "2"])
def test_the_call_and_its_digits(app, db, company, smtp, twilio, digit):
    cart, attempt, left = phone_cart(db, company)
    twilio.script(PHONE, call="completed", digits=digit)
    delivery.claim_due(left + timedelta(hours=48))
    [call] = twilio.calls_to(PHONE)
    call_row = interventions(attempt)["VOICE_CALL"]
    assert call_row.status == "SENT" and call["sid"] == call_row.provider_response["provider_id"]
    twilio.wait_for(lambda: interventions(attempt)["VOICE_CALL"].provider_response.get("status") == "COMPLETED")
    if digit == "1":
        texts = twilio.wait_for(lambda: [m for m in twilio.messages_to(PHONE) if "/recover/" in m["body"]])
        assert f"/recover/{call_row.token}" in texts[-1]["body"]
    else:
        twilio.wait_for(lambda: not consent.has_consent(company.id, PHONE, VOICE))
        db.session.expire_all()
        assert consent.has_consent(company.id, PHONE, SMS)


def test_a_failed_call_is_recorded(app, db, company, smtp, twilio):
    cart, attempt, left = phone_cart(db, company)
    twilio.script(PHONE, call="busy")
    delivery.claim_due(left + timedelta(hours=48))
    twilio.wait_for(lambda: interventions(attempt)["VOICE_CALL"].provider_response.get("status") == "BUSY")
