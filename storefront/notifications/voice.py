"""Voice channel: calls through the Twilio Calls API (the official SDK), with TwiML from
``twilio.twiml.voice_response.VoiceResponse``: a short spoken script, then a ``Gather``
of one key press whose meaning the caller decides (a handler in ``hooks.gather``).

The flow of a call: ``place_call`` records the message and asks Twilio to call; when the
person answers, Twilio fetches ``/webhooks/twilio/voice`` (``call_twiml``); a key press
goes to ``/webhooks/twilio/gather``, which hands the digit to the named handler and says
its answer; the call's end reaches ``/webhooks/twilio/call-status`` (COMPLETED,
NO_ANSWER, BUSY, FAILED). Every webhook is signature-checked (``routes``).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from twilio.twiml.voice_response import Gather, VoiceResponse

from storefront.notifications import hooks, records
from storefront.notifications.models import VOICE, OutboundMessage
from storefront.notifications.quiet_hours import DEFAULT_WINDOW, SendingWindow, check_window
from storefront.notifications.sms import refusal
from storefront.notifications.twilio_client import client, provider_call, webhook_url
from storefront.types import utcnow

MAX_SCRIPT = 1000
GATHER_TIMEOUT_SECONDS = 6
NO_CHOICE = "We didn't get a choice. Goodbye."
GOODBYE = "Thank you. Goodbye."


def call_twiml(script: str, prompt: str, action_url: str, language: str = "en-US") -> str:
    """TwiML for an answered call: ``script`` spoken, then a Gather of one digit that says
    ``prompt`` ("Press 1 for a text with your cart link, press 2 for no more calls.") and
    posts the digit to ``action_url``; with no key pressed, a goodbye."""
    response = VoiceResponse()
    response.say(script, language=language)
    gather = Gather(num_digits=1, action=action_url, method="POST", timeout=GATHER_TIMEOUT_SECONDS)
    gather.say(prompt, language=language)
    response.append(gather)
    response.say(NO_CHOICE, language=language)
    return str(response)


def reply_twiml(sentence: str | None, language: str = "en-US") -> str:
    """TwiML that says ``sentence`` (a goodbye when None) and hangs up."""
    response = VoiceResponse()
    response.say(sentence or GOODBYE, language=language)
    response.hangup()
    return str(response)


def place_call(company_id: int, key: str, to: str, script: str, prompt: str, *, hook: str,
               now: datetime | None = None, window: SendingWindow = DEFAULT_WINDOW, fallback_zone: str = "UTC",
               max_attempts: int = records.MAX_ATTEMPTS) -> OutboundMessage:
    """Call ``to`` once under ``key`` for merchant ``company_id``: say ``script`` (at most
    1000 characters), then ``prompt`` inside a one-digit Gather whose digit goes to the
    handler registered as ``hook`` in ``hooks.gather``.

    The same checks as ``sms.send_sms``, in the same order, with VOICE consent: a used key
    returns its row; not a number, no Twilio or no VOICE consent records FAILED; quiet
    hours raise OutsideSendingWindow. Returns the OutboundMessage (SENT when Twilio queued
    the call, with its SID); the call-status callback then records COMPLETED, NO_ANSWER,
    BUSY or FAILED, and the gather callback the digit. Raises records.TransientSendError
    (retry with rq.Retry), ValueError for an empty or too long script or an unknown hook.
    """
    if not script or len(script) > MAX_SCRIPT or not prompt or len(prompt) > 255:
        raise ValueError(f"a call's script is 1 to {MAX_SCRIPT} characters and its prompt 1 to 255")
    if hook not in hooks.gather:
        raise ValueError(f"no gather hook named {hook!r} is registered")
    now = now or utcnow()
    existing = records.message_by_key(key)
    if existing is not None and existing.status != records.DEFERRED:
        return existing
    phone, reason = refusal(company_id, VOICE, to)
    if reason:
        return records.record_refusal(company_id, VOICE, key, phone, script, reason, subject=prompt, now=now).message
    check_window(phone, now, window, fallback_zone)
    found = records.claim(company_id, VOICE, key, phone, script, subject=prompt, hook=hook, now=now)
    if not found.claimed:
        return found.message
    message = found.message
    answer_url = webhook_url("/webhooks/twilio/voice", m=message.id)
    status_url = webhook_url("/webhooks/twilio/call-status", m=message.id)
    sender = current_app.config["TWILIO_FROM"]

    def transport() -> str:
        return provider_call(lambda: client().calls.create(to=phone, from_=sender, url=answer_url, method="POST",
                                                           status_callback=status_url,
                                                           status_callback_method="POST"))

    return records.deliver(message, transport, max_attempts)
