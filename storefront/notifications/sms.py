"""SMS channel: texts through the Twilio Messages API (the official SDK), only with the
person's consent, only inside the sending window, at most once per key."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from storefront.notifications import records
from storefront.notifications.consent import has_consent
from storefront.notifications.models import SMS, OutboundMessage
from storefront.notifications.phones import PhoneError, normalise_phone
from storefront.notifications.quiet_hours import DEFAULT_WINDOW, SendingWindow, check_window
from storefront.notifications.twilio_client import (
    client,
    provider_call,
    twilio_configured,
    webhook_url,
)
from storefront.types import utcnow

MAX_BODY = 1600  # Twilio's limit for one message (split into segments by the carrier)


def refusal(company_id: int, channel: str, to: str) -> tuple[str, str | None]:
    """(E.164 number, reason to refuse or None) for a text or call to ``to``: not a number,
    Twilio not configured, or no live consent to ``channel`` at this merchant."""
    try:
        phone = normalise_phone(to)
    except PhoneError:
        return (to or "")[:254], "not a phone number"
    if not twilio_configured():
        return phone, "SMS and calls are not configured (TWILIO_ACCOUNT_SID)"
    if not has_consent(company_id, phone, channel):
        return phone, f"no {channel} consent for this number at this merchant"
    return phone, None


def send_sms(company_id: int, key: str, to: str, body: str, *, now: datetime | None = None,
             window: SendingWindow = DEFAULT_WINDOW, fallback_zone: str = "UTC",
             max_attempts: int = records.MAX_ATTEMPTS) -> OutboundMessage:
    """Text ``body`` (1 to 1600 characters) to ``to`` (E.164, or with its country code) once
    under ``key`` for merchant ``company_id``.

    Checked at the moment of sending, in this order: a key already used returns its row
    unchanged (nothing is sent again); not a number, Twilio not configured or no live SMS
    consent (``consent.has_consent``) records FAILED with the reason, without calling
    Twilio; ``now`` (default: the clock) inside quiet hours raises
    quiet_hours.OutsideSendingWindow with the next allowed time and its reason, recording
    nothing (reschedule and send again with the same key). ``window`` is the merchant's
    narrowed window, ``fallback_zone`` the zone for a number whose zone is unknown.

    Returns the OutboundMessage (SENT with the Twilio SID; FAILED when Twilio refused;
    UNKNOWN when the request may have reached Twilio). Twilio's status callbacks later move
    it to DELIVERED, UNDELIVERED or FAILED. Raises records.TransientSendError when Twilio
    could not take it now (retry with rq.Retry), ValueError for an empty or too long body.
    """
    if not body or len(body) > MAX_BODY:
        raise ValueError(f"an SMS body is 1 to {MAX_BODY} characters")
    now = now or utcnow()
    existing = records.message_by_key(key)
    if existing is not None and existing.status != records.DEFERRED:
        return existing
    phone, reason = refusal(company_id, SMS, to)
    if reason:
        return records.record_refusal(company_id, SMS, key, phone, body, reason, now=now).message
    check_window(phone, now, window, fallback_zone)
    found = records.claim(company_id, SMS, key, phone, body, now=now)
    if not found.claimed:
        return found.message
    message = found.message
    callback = webhook_url("/webhooks/twilio/status", m=message.id)
    sender = current_app.config["TWILIO_FROM"]

    def transport() -> str:
        return provider_call(lambda: client().messages.create(to=phone, from_=sender, body=body,
                                                              status_callback=callback))

    return records.deliver(message, transport, max_attempts)
