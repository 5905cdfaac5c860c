"""Notification channels shared by recovery and billing: email (SMTP, or the outbox folder),
SMS and voice (the official ``twilio`` SDK; the local Twilio-compatible server when no
TWILIO_ACCOUNT_SID), consent, suppression, the sending window (quiet hours) and at-most-once
delivery under the caller's key.

What upper domains call:

- ``email.send_templated_email(company_id, key, to, subject, template, context, unsubscribe_url=...)``
- ``sms.send_sms(company_id, key, to, body, now=..., window=..., fallback_zone=...)``
- ``voice.place_call(company_id, key, to, script, prompt, hook=..., now=..., window=...)``
- ``quiet_hours.next_send_time(phone, wanted, window, fallback_zone)`` -> SendSlot(at, reason)
- ``consent.record_consent / withdraw / has_consent``; ``suppression.unsubscribe_token /
  unsubscribe / suppress / is_suppressed``
- ``records.message_by_key(key)``, ``records.sweep_unknown`` (cron), ``records.scrub_recipient``
- ``hooks.register_gather(name, func)``, ``hooks.status_changed``, ``hooks.opted_out``

Each send returns the ``OutboundMessage`` (SENT, FAILED with the reason, UNKNOWN, or the
earlier row of a key already used) and raises ``records.TransientSendError`` (retry with
``rq.Retry``) or ``quiet_hours.OutsideSendingWindow`` (reschedule to ``error.slot.at``).
"""
