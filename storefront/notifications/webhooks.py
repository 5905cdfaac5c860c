"""What Twilio's webhooks do, once their signature has been checked (``routes``): status
callbacks of texts and calls, the TwiML of an answered call, the digit a callee pressed,
and texts people send us (STOP, START, HELP). Each returns the answer's body (TwiML, or an
outcome word) and commits its own transaction; upper domains hear of it through
``hooks`` before the commit.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import select
from twilio.twiml.messaging_response import MessagingResponse

from storefront.accounts.models import Company
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.notifications import consent, hooks, records
from storefront.notifications.models import SMS, VOICE, OutboundMessage
from storefront.notifications.phones import PhoneError, normalise_phone
from storefront.notifications.twilio_client import webhook_url
from storefront.notifications.voice import NO_CHOICE, call_twiml, reply_twiml

log = logging.getLogger(__name__)

SMS_STATUSES = {"sent": records.SENT, "delivered": records.DELIVERED, "undelivered": records.UNDELIVERED,
                "failed": records.FAILED}
CALL_STATUSES = {"initiated": records.SENT, "ringing": records.SENT, "in-progress": records.SENT,
                 "completed": records.COMPLETED, "no-answer": records.NO_ANSWER, "busy": records.BUSY,
                 "failed": records.FAILED, "canceled": records.FAILED}
_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_DIGITS = re.compile(r"[0-9*#]{1,8}")


class UnknownMessage(LookupError):
    """A callback for no message of ours (or for another one's SID): answered 404."""


def _message(raw_id, channel: str, sid: str | None) -> OutboundMessage:
    """The message of a callback's ``m`` parameter, locked; its SID must match when both are
    known (a callback signed for one message cannot move another)."""
    key = optional_int(raw_id, 1)
    message = None if key is None else db.session.execute(
        select(OutboundMessage).where(OutboundMessage.id == key).with_for_update()).scalar_one_or_none()
    if message is None or message.channel != channel:
        raise UnknownMessage("no such message")
    if sid and message.provider_id and message.provider_id != sid:
        raise UnknownMessage("the SID does not match the message")
    return message


def _apply(message: OutboundMessage, status: str, sid: str | None, error: str | None) -> str:
    if records.apply_provider_status(message, status, provider_id=sid if sid and _SID.fullmatch(sid) else None,
                                     error=error):
        hooks.call(hooks.status_changed, message)
    db.session.commit()
    return message.status


def message_status(raw_id, form) -> str:
    """A text's status callback (MessageStatus sent, delivered, undelivered, failed; others
    are ignored): returns the message's status. Raises UnknownMessage."""
    status = SMS_STATUSES.get(form.get("MessageStatus") or form.get("SmsStatus") or "")
    sid = form.get("MessageSid") or form.get("SmsSid")
    message = _message(raw_id, SMS, sid)
    if status is None:
        db.session.rollback()
        return message.status
    code = form.get("ErrorCode")
    return _apply(message, status, sid, f"Twilio error {code[:10]}" if code and status != records.SENT else None)


def call_status(raw_id, form) -> str:
    """A call's status callback (CallStatus completed, no-answer, busy, failed, canceled...):
    returns the message's status. Raises UnknownMessage."""
    raw = form.get("CallStatus") or ""
    status = CALL_STATUSES.get(raw)
    sid = form.get("CallSid")
    message = _message(raw_id, VOICE, sid)
    if status is None:
        db.session.rollback()
        return message.status
    error = f"call {raw}" + (f" (Twilio error {form['ErrorCode'][:10]})" if form.get("ErrorCode") else "")
    return _apply(message, status, sid, error if status in (records.FAILED, records.NO_ANSWER, records.BUSY) else None)


def answer_call(raw_id, form) -> str:
    """TwiML for the answered call of message ``raw_id``: its script and its Gather, whose
    digit comes back to ``/webhooks/twilio/gather``. Raises UnknownMessage."""
    message = _message(raw_id, VOICE, form.get("CallSid"))
    db.session.rollback()  # read only: release the row
    return call_twiml(message.body, message.subject or "", webhook_url("/webhooks/twilio/gather", m=message.id))


def gathered(raw_id, form) -> str:
    """The callee pressed ``Digits``: record them on the message, hand them to the call's
    gather handler (``hooks.gather``; handlers must be idempotent, Twilio may repeat a
    request) and return TwiML saying its answer. Raises UnknownMessage."""
    message = _message(raw_id, VOICE, form.get("CallSid"))
    digits = form.get("Digits") or ""
    if not _DIGITS.fullmatch(digits):
        db.session.rollback()
        return reply_twiml(NO_CHOICE)
    message.digits = digits
    handler = hooks.gather.get(message.hook or "")
    sentence = handler(message, digits) if handler else None
    db.session.commit()
    return reply_twiml(sentence)


def _last_sender(phone: str) -> Company | None:
    company_id = db.session.execute(
        select(OutboundMessage.company_id).where(OutboundMessage.recipient == phone, OutboundMessage.channel == SMS)
        .order_by(OutboundMessage.id.desc()).limit(1)).scalar_one_or_none()
    return db.session.get(Company, company_id) if company_id else None


def _help_text(company: Company | None) -> str:
    if company is None:
        return "This number sends messages for online shops. Reply STOP to unsubscribe."
    contact = f" Questions? Email {company.support_email}." if company.support_email else ""
    return f"{company.name}: cart and order messages.{contact} Reply STOP to unsubscribe."


def inbound_sms(form) -> str:
    """A text someone sent us: STOP (and its synonyms) withdraws the sender's SMS consent at
    every merchant (``hooks.opted_out`` per merchant), START restores what a keyword
    withdrew, HELP answers with the contact of the shop that texted them last. A keyword
    from an unknown number changes nothing and still gets its answer; other texts get
    none. Returns TwiML; the reply, when a shop is known, is recorded in its outbox."""
    reply = MessagingResponse()
    try:
        phone = normalise_phone(form.get("From") or "")
    except PhoneError:
        return str(reply)
    kind = consent.keyword(form.get("Body"))
    log.info("inbound SMS from %s: %s", phone, kind or "no keyword")
    company = _last_sender(phone)
    if kind == consent.OPT_OUT:
        for company_id in consent.opt_out_everywhere(phone):
            hooks.call(hooks.opted_out, company_id, phone, SMS)
        db.session.commit()
        text = "You're unsubscribed and will get no more texts from this number. Reply START to resubscribe."
    elif kind == consent.OPT_IN:
        restored = consent.opt_in_again(phone)
        text = ("You're subscribed again. Reply STOP to unsubscribe, HELP for help." if restored else
                "There is nothing to resume for this number. Reply HELP for help.")
    elif kind == consent.HELP:
        text = _help_text(company)
    else:
        return str(reply)
    reply.message(text)
    sid = form.get("MessageSid") or ""
    if company is not None and _SID.fullmatch(sid):
        found = records.claim(company.id, SMS, f"sms-reply-{sid}", phone, text)
        if found.claimed:
            records.finish(found.message, records.SENT)
    return str(reply)
