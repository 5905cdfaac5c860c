"""SMS and voice end to end: the real ``twilio`` SDK talks to the local Twilio-compatible
server, which calls our webhooks (served by the app on loopback) signed with the auth
token. Scripted outcomes reach the record; STOP, START and HELP arrive as texts; a call is
answered and its digits reach the gather hook."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storefront.notifications import consent, hooks, records
from storefront.notifications.models import SMS, VOICE, OutboundMessage, PhoneConsent
from storefront.notifications.quiet_hours import OutsideSendingWindow
from storefront.notifications.sms import send_sms
from storefront.notifications.voice import place_call

PHONE = "+15125550100"  # Austin: America/Chicago
CONSENT_TEXT = "Text me about my cart (up to 2 messages). Reply STOP to stop."


def noon_in_austin() -> datetime:
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    return datetime(today.year, today.month, today.day, 12, 0, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)


@pytest.fixture()
def twilio(app, twilio_server, live_server):
    """The local server, emptied, calling back the app served at ``live_server``."""
    twilio_server.reset()
    app.config["PUBLIC_URL"] = live_server
    return twilio_server


def status_of(db, message_id: int) -> str:
    db.session.rollback()
    return db.session.get(OutboundMessage, message_id).status


def wait_status(twilio, db, message_id: int, expected: str) -> OutboundMessage:
    twilio.wait_for(lambda: status_of(db, message_id) == expected)
    return db.session.get(OutboundMessage, message_id)


def allow(company, channel=SMS, phone=PHONE):
    consent.record_consent(company.id, phone, CONSENT_TEXT, "CHECKOUT", channel=channel)


def test_a_text_is_sent_through_the_sdk_and_its_delivery_reported(app, db, company, twilio, live_server):
    allow(company)
    message = send_sms(company.id, "intervention-1", PHONE, "Your cart is waiting",
                       now=noon_in_austin())

    assert message.status == records.SENT and message.provider_id.startswith("SM")
    [sent] = twilio.messages_to(PHONE)
    assert sent["sid"] == message.provider_id and sent["body"] == "Your cart is waiting"
    assert sent["from"] == "+15005550006"
    delivered = wait_status(twilio, db, message.id, records.DELIVERED)
    assert delivered.finished_at is not None and delivered.error is None
    callbacks = twilio.wait_for(lambda: len(twilio.messages_to(PHONE)[0]["callbacks"]) == 2
                                and twilio.messages_to(PHONE)[0]["callbacks"])
    assert [c["params"]["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    assert all(c["status"] == 200 and c["url"] == f"{live_server}/webhooks/twilio/status?m={message.id}"
               for c in callbacks)


@pytest.mark.parametrize(("outcome", "status", "code"), [
    ("failed", records.FAILED, "30008"), ("undelivered", records.UNDELIVERED, "30003")])
def test_scripted_failures_reach_the_record(app, db, company, twilio, outcome, status, code):
    allow(company)
    twilio.script(PHONE, sms=outcome)
    message = send_sms(company.id, f"k-{outcome}", PHONE, "Hello", now=noon_in_austin())
    assert message.status == records.SENT
    final = wait_status(twilio, db, message.id, status)
    assert final.error == f"Twilio error {code}"


def test_twilio_refusing_the_number_fails_at_once(app, db, company, twilio):
    allow(company)
    twilio.script(PHONE, sms="rejected")
    message = send_sms(company.id, "k", PHONE, "Hello", now=noon_in_austin())
    assert message.status == records.FAILED and "21211" in message.error
    assert twilio.messages_to(PHONE) == []


def test_twilio_unavailable_is_transient_and_the_same_key_sends_later(app, db, company, twilio):
    allow(company)
    twilio.script(PHONE, sms="unavailable")
    with pytest.raises(records.TransientSendError, match="503"):
        send_sms(company.id, "k", PHONE, "Hello", now=noon_in_austin())
    twilio.script(PHONE, sms="delivered")
    message = send_sms(company.id, "k", PHONE, "Hello", now=noon_in_austin())
    assert message.status == records.SENT and message.attempts == 2
    assert len(twilio.messages_to(PHONE)) == 1


def test_no_consent_or_withdrawn_consent_never_reaches_twilio(app, db, company, twilio):
    refused = send_sms(company.id, "k1", PHONE, "Hello", now=noon_in_austin())
    assert refused.status == records.FAILED and refused.error == "no SMS consent for this number at this merchant"
    allow(company)
    consent.withdraw(company.id, PHONE, "PORTAL")
    assert send_sms(company.id, "k2", PHONE, "Hello", now=noon_in_austin()).status == records.FAILED
    allow(company, channel=VOICE)  # consent to calls is not consent to texts
    assert send_sms(company.id, "k3", PHONE, "Hello", now=noon_in_austin()).status == records.FAILED
    assert twilio.messages_to(PHONE) == []
    assert send_sms(company.id, "k4", "not a phone", "Hello").error == "not a phone number"


def test_quiet_hours_refuse_with_the_next_time_and_record_nothing(app, db, company, twilio):
    allow(company)
    late = noon_in_austin() + timedelta(hours=10)  # 22:00 in Austin
    with pytest.raises(OutsideSendingWindow) as refused:
        send_sms(company.id, "k", PHONE, "Hello", now=late)
    assert refused.value.slot.at == noon_in_austin() + timedelta(hours=20)  # 08:00 the next day
    assert "quiet hours" in refused.value.slot.reason
    assert db.session.query(OutboundMessage).count() == 0 and twilio.messages_to(PHONE) == []


def test_the_same_key_texts_once(app, db, company, twilio):
    allow(company)
    first = send_sms(company.id, "intervention-9", PHONE, "Hello", now=noon_in_austin())
    second = send_sms(company.id, "intervention-9", PHONE, "Hello", now=noon_in_austin() + timedelta(hours=20))
    assert second.id == first.id and len(twilio.messages_to(PHONE)) == 1


def test_a_job_killed_after_twilio_took_the_text_is_reported_unknown_and_never_resent(
        app, db, company, twilio, monkeypatch):
    allow(company)
    real_finish = records.finish

    def killed(message, status, **kwargs):
        if status == records.SENT:
            raise SystemExit("worker killed between the provider's answer and the SENT commit")
        return real_finish(message, status, **kwargs)

    monkeypatch.setattr(records, "finish", killed)
    now = noon_in_austin()
    with pytest.raises(SystemExit):
        send_sms(company.id, "intervention-5", PHONE, "Hello", now=now)
    monkeypatch.setattr(records, "finish", real_finish)
    [row] = db.session.query(OutboundMessage).all()
    assert len(twilio.messages_to(PHONE)) == 1

    # Until the sweep runs the row says SENDING (or what Twilio's callbacks reported since):
    # either way a retried job sends nothing.
    assert send_sms(company.id, "intervention-5", PHONE, "Hello", now=now).id == row.id
    # Twilio's status callbacks race the sweep: whichever lands first, the row never stays
    # SENDING, and a sweep that found it SENDING left it UNKNOWN or what a callback said after.
    swept = records.sweep_unknown(now=now + timedelta(minutes=16), minutes=15)
    status = status_of(db, row.id)
    assert status != records.SENDING
    if swept:
        assert status in {records.UNKNOWN, records.SENT, records.DELIVERED}
    assert len(twilio.messages_to(PHONE)) == 1


def test_stop_start_and_help_arrive_as_texts(app, db, company, twilio, live_server, monkeypatch):
    from storefront.accounts.models import Company

    other = Company(name="Other Shop", slug="other", currency="USD", support_email="hi@other.test")
    db.session.add(other)
    db.session.commit()
    allow(company)
    allow(other)
    allow(company, channel=VOICE)
    send_sms(company.id, "k1", PHONE, "Your cart is waiting", now=noon_in_austin())
    heard = []
    monkeypatch.setattr(hooks, "opted_out", [lambda *args: heard.append(args)])
    url = f"{live_server}/webhooks/twilio/sms"

    stop = twilio.inbound(PHONE, "Stop", url)

    assert stop["status"] == 200 and "unsubscribed" in stop["replies"][0]
    assert not consent.has_consent(company.id, PHONE) and not consent.has_consent(other.id, PHONE)
    assert consent.has_consent(company.id, PHONE, VOICE)  # a text's STOP is about texts
    assert sorted(heard) == sorted([(company.id, PHONE, SMS), (other.id, PHONE, SMS)])
    row = db.session.query(PhoneConsent).filter_by(company_id=company.id, channel=SMS).one()
    assert row.withdrawal_source == "SMS_KEYWORD" and row.consent_text == CONSENT_TEXT
    assert send_sms(company.id, "k2", PHONE, "Hello", now=noon_in_austin()).status == records.FAILED

    start = twilio.inbound(PHONE, "START", url)
    assert "subscribed again" in start["replies"][0]
    db.session.rollback()
    assert consent.has_consent(company.id, PHONE) and consent.has_consent(other.id, PHONE)
    assert [entry["event"] for entry in db.session.get(PhoneConsent, row.id).history] == [
        "CONSENTED", "WITHDRAWN", "RESUBSCRIBED"]

    help_ = twilio.inbound(PHONE, "help", url)
    assert help_["replies"] == ["Acme Apparel: cart and order messages. Questions? Email help@acme.test. "
                                "Reply STOP to unsubscribe."]
    chatter = twilio.inbound(PHONE, "is my order coming?", url)
    assert chatter["status"] == 200 and chatter["replies"] == []
    replies = db.session.query(OutboundMessage).filter(OutboundMessage.idempotency_key.like("sms-reply-%")).all()
    assert len(replies) == 3 and {r.company_id for r in replies} == {company.id}


def test_stop_from_an_unknown_number_is_harmless(app, db, company, twilio, live_server):
    allow(company)
    answer = twilio.inbound("+14155550123", "STOP", f"{live_server}/webhooks/twilio/sms")
    assert answer["status"] == 200 and "unsubscribed" in answer["replies"][0]
    assert consent.has_consent(company.id, PHONE)
    assert twilio.inbound("+14155550123", "START", f"{live_server}/webhooks/twilio/sms")["status"] == 200
    assert twilio.inbound("not a number", "STOP", f"{live_server}/webhooks/twilio/sms")["status"] == 200
    assert db.session.query(PhoneConsent).count() == 1


@pytest.fixture()
def gather_hook(app, db, company, monkeypatch):
    """A gather handler as recovery would write it: 1 texts the cart link, 2 stops calls."""
    pressed = []

    def handle(message, digit):
        pressed.append((message.id, digit))
        if digit == "1":
            send_sms(message.company_id, f"call-{message.id}-link", message.recipient, "Your cart: https://x.test/r/1",
                     now=noon_in_austin())  # the tests' clock: the call itself was placed at noon
            return "We've texted you the link. Goodbye."
        if digit == "2":
            consent.withdraw(message.company_id, message.recipient, "VOICE_KEYPAD", channel=VOICE)
            return "You won't get more calls from us. Goodbye."
        return None

    monkeypatch.setitem(hooks.gather, "test-cart-call", handle)
    return pressed


SCRIPT = "Hello, this is Acme Apparel. You left a Classic Tee in your cart."
PROMPT = "Press 1 to get a text with your cart link. Press 2 for no more calls."


@pytest.mark.parametrize("digit", ["1", "2"])
def test_a_call_is_answered_and_its_digit_reaches_the_hook(app, db, company, twilio, gather_hook, digit):
    allow(company)
    allow(company, channel=VOICE)
    twilio.script(PHONE, call="completed", digits=digit)

    message = place_call(company.id, "intervention-3", PHONE, SCRIPT, PROMPT, hook="test-cart-call",
                         now=noon_in_austin())

    assert message.status == records.SENT and message.provider_id.startswith("CA")
    done = wait_status(twilio, db, message.id, records.COMPLETED)
    assert done.digits == digit and gather_hook == [(message.id, digit)]
    [call] = twilio.calls_to(PHONE)
    assert call["heard"][:2] == [SCRIPT, PROMPT] and call["pressed"] == [digit]
    assert all(callback["status"] == 200 for callback in call["callbacks"])
    if digit == "1":
        assert call["heard"][2] == "We've texted you the link. Goodbye."
        [text] = twilio.messages_to(PHONE)
        assert text["body"] == "Your cart: https://x.test/r/1"
    else:
        assert call["heard"][2] == "You won't get more calls from us. Goodbye."
        assert not consent.has_consent(company.id, PHONE, VOICE)
        assert place_call(company.id, "intervention-4", PHONE, SCRIPT, PROMPT, hook="test-cart-call",
                          now=noon_in_austin()).status == records.FAILED


@pytest.mark.parametrize(("outcome", "status"), [
    ("no-answer", records.NO_ANSWER), ("busy", records.BUSY), ("failed", records.FAILED)])
def test_each_scripted_call_outcome_reaches_the_record(app, db, company, twilio, gather_hook, outcome, status):
    allow(company, channel=VOICE)
    twilio.script(PHONE, call=outcome)
    message = place_call(company.id, f"call-{outcome}", PHONE, SCRIPT, PROMPT, hook="test-cart-call",
                         now=noon_in_austin())
    final = wait_status(twilio, db, message.id, status)
    assert final.error == f"call {outcome}" and final.digits is None and gather_hook == []
    assert twilio.calls_to(PHONE)[0]["heard"] == []


def test_a_call_without_a_key_pressed_completes_without_digits(app, db, company, twilio, gather_hook):
    allow(company, channel=VOICE)
    message = place_call(company.id, "k", PHONE, SCRIPT, PROMPT, hook="test-cart-call", now=noon_in_austin())
    done = wait_status(twilio, db, message.id, records.COMPLETED)
    assert done.digits is None and gather_hook == []
    assert twilio.calls_to(PHONE)[0]["heard"] == [SCRIPT, PROMPT, "We didn't get a choice. Goodbye."]


def test_calls_need_a_registered_hook_and_keep_quiet_hours(app, db, company, twilio, gather_hook):
    allow(company, channel=VOICE)
    with pytest.raises(ValueError, match="no gather hook"):
        place_call(company.id, "k", PHONE, SCRIPT, PROMPT, hook="nobody", now=noon_in_austin())
    with pytest.raises(OutsideSendingWindow):
        place_call(company.id, "k", PHONE, SCRIPT, PROMPT, hook="test-cart-call",
                   now=noon_in_austin() - timedelta(hours=5))  # 07:00 in Austin
    assert twilio.calls_to(PHONE) == []
