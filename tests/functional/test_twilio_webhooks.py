"""Twilio's webhooks at the HTTP boundary: only Twilio's signature (made with the auth token
over the URL and the form) gets in; forged, unsigned, replayed-elsewhere, malformed and
oversized requests are refused with a 4xx and change nothing."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from twilio.request_validator import RequestValidator

from storefront.notifications import consent, records
from storefront.notifications.models import SMS, VOICE, OutboundMessage

PHONE = "+15125550100"
BASE = "http://127.0.0.1:5000"  # PUBLIC_URL in the tests


def signed(app, path: str, form: dict, token: str | None = None) -> dict:
    signature = RequestValidator(token or app.config["TWILIO_AUTH_TOKEN"]).compute_signature(
        app.config["PUBLIC_URL"] + path, form)
    return {"X-Twilio-Signature": signature}


def post(client, app, path, form, **kwargs):
    headers = kwargs.pop("headers", None)
    return client.post(path, data=form, headers=signed(app, path, form) if headers is None else headers, **kwargs)


@pytest.fixture()
def texted(app, db, company):
    consent.record_consent(company.id, PHONE, "Text me about my cart.", "CHECKOUT")
    message = records.claim(company.id, SMS, "intervention-1", PHONE, "Hi").message
    records.finish(message, records.SENT, provider_id="SM" + "a" * 32)
    return message


def stop_form(**extra) -> dict:
    return {"MessageSid": "SM" + "b" * 32, "AccountSid": "AC1", "From": PHONE, "To": "+15005550006",
            "Body": "STOP", **extra}


def test_a_signed_stop_is_taken_and_the_log_masks_the_number(app, db, client, texted, caplog):
    caplog.set_level("INFO")
    response = post(client, app, "/webhooks/twilio/sms", stop_form())
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert "unsubscribed" in response.get_data(as_text=True)
    assert not consent.has_consent(texted.company_id, PHONE)
    assert "inbound SMS from ***00: OPT_OUT" in caplog.text and "5125550100" not in caplog.text


@pytest.mark.parametrize("how", ["unsigned", "another token", "another url", "changed form", "garbage"])
def test_a_forged_inbound_text_gets_403_and_changes_nothing(app, db, client, texted, how):
    form = stop_form()
    headers = {
        "unsigned": {},
        "another token": signed(app, "/webhooks/twilio/sms", form, token="not the auth token"),
        "another url": signed(app, "/webhooks/twilio/status", form),
        "changed form": signed(app, "/webhooks/twilio/sms", {**form, "From": "+14155550123"}),
        "garbage": {"X-Twilio-Signature": "AAAA"},
    }[how]
    response = client.post("/webhooks/twilio/sms", data=form, headers=headers)
    assert response.status_code == 403
    assert consent.has_consent(texted.company_id, PHONE)


@pytest.mark.parametrize("path", ["/webhooks/twilio/status", "/webhooks/twilio/call-status",
                                  "/webhooks/twilio/voice", "/webhooks/twilio/gather"])
def test_every_callback_refuses_a_forged_request(app, db, client, texted, path):
    form = {"MessageSid": texted.provider_id, "MessageStatus": "failed", "CallStatus": "busy", "Digits": "2"}
    response = client.post(f"{path}?m={texted.id}", data=form,
                           headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    db.session.rollback()
    assert db.session.get(OutboundMessage, texted.id).status == records.SENT


def test_a_signed_status_callback_moves_the_message(app, db, client, texted):
    path = f"/webhooks/twilio/status?m={texted.id}"
    form = {"MessageSid": texted.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    response = post(client, app, path, form)
    assert response.status_code == 200 and response.get_data(as_text=True) == "UNDELIVERED"
    db.session.rollback()
    assert db.session.get(OutboundMessage, texted.id).error == "Twilio error 30003"
    # The same callback again (Twilio retries) changes nothing; a late "sent" neither.
    assert post(client, app, path, form).get_data(as_text=True) == "UNDELIVERED"
    assert post(client, app, path, {**form, "MessageStatus": "sent"}).get_data(as_text=True) == "UNDELIVERED"


def test_a_signed_callback_for_another_message_is_404(app, db, client, texted):
    other = records.claim(texted.company_id, SMS, "intervention-2", PHONE, "Hi").message
    records.finish(other, records.SENT, provider_id="SM" + "c" * 32)
    # Signed for message 1's SID but aimed at message 2: refused.
    path = f"/webhooks/twilio/status?m={other.id}"
    assert post(client, app, path, {"MessageSid": texted.provider_id, "MessageStatus": "failed"}).status_code == 404
    for bad in ("0", "abc", "²", "99999999999", ""):
        assert post(client, app, f"/webhooks/twilio/status?m={quote(bad)}",
                    {"MessageSid": "SMx", "MessageStatus": "failed"}).status_code == 404
    # A text's id is not a call's.
    assert post(client, app, f"/webhooks/twilio/call-status?m={texted.id}",
                {"CallSid": "CA1", "CallStatus": "busy"}).status_code == 404
    db.session.rollback()
    assert db.session.get(OutboundMessage, other.id).status == records.SENT


def test_control_characters_are_refused_before_the_signature_matters(app, db, client, texted):
    form = stop_form(From="+1512555\x000100")
    response = post(client, app, "/webhooks/twilio/sms", form)
    assert response.status_code == 400
    # A text's body may span lines: a real "STOP\n" is taken.
    response = post(client, app, "/webhooks/twilio/sms", stop_form(Body="STOP\r\n"))
    assert response.status_code == 200 and not consent.has_consent(texted.company_id, PHONE)


def test_an_oversized_webhook_is_413(app, db, client, texted):
    response = post(client, app, "/webhooks/twilio/sms", stop_form(Body="x" * 70_000))
    assert response.status_code == 413
    assert consent.has_consent(texted.company_id, PHONE)


def test_the_webhooks_need_no_csrf_token_but_other_posts_do(app, db, client, texted):
    assert client.post("/admin/login", data={"email": "a@b.test", "password": "x"}).status_code == 400
    assert post(client, app, "/webhooks/twilio/sms", stop_form(Body="HELP")).status_code == 200


def test_the_gather_webhook_ignores_digits_that_are_not_digits(app, db, client, company):
    consent.record_consent(company.id, PHONE, "Call me about my cart.", "CHECKOUT", channel=VOICE)
    call = records.claim(company.id, VOICE, "call-1", PHONE, "Hello", subject="Press 1", hook="nobody").message
    records.finish(call, records.SENT, provider_id="CA" + "d" * 32)
    path = f"/webhooks/twilio/gather?m={call.id}"
    response = post(client, app, path, {"CallSid": call.provider_id, "Digits": "1; DROP"})
    assert response.status_code == 200 and "We didn't get a choice" in response.get_data(as_text=True)
    response = post(client, app, path, {"CallSid": call.provider_id, "Digits": "1"})
    assert "Thank you. Goodbye." in response.get_data(as_text=True)  # no handler named "nobody"
    db.session.rollback()
    assert db.session.get(OutboundMessage, call.id).digits == "1"
    voice = post(client, app, f"/webhooks/twilio/voice?m={call.id}", {"CallSid": call.provider_id})
    assert voice.status_code == 200 and f"/webhooks/twilio/gather?m={call.id}" in voice.get_data(as_text=True)
