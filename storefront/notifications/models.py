"""What the channels keep: every message sent (email, SMS, call), the per-merchant email
suppression list, and the phone consents (SMS and calls)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.types import JSONType, UTCDateTime, utcnow

EMAIL, SMS, VOICE = "EMAIL", "SMS", "VOICE"
CHANNELS = (EMAIL, SMS, VOICE)


class OutboundMessage(db.Model):
    """One message to one person, under the caller's unique ``idempotency_key``
    ("intervention-42", "invoice-7-dunning-1"): a second send with the same key never sends
    again (ARCHITECTURE §5).

    ``status`` (see ``records``): SENDING (claimed and committed before the provider is
    called), SENT, DEFERRED (a transient fault before the provider took it: the same key may
    try again), FAILED (with ``error``: refused, suppressed, no consent), UNKNOWN (the send
    stopped between SENDING and SENT: never re-sent automatically); then, from Twilio's
    callbacks, DELIVERED or UNDELIVERED for SMS, and COMPLETED, NO_ANSWER, BUSY or FAILED
    for calls. ``recipient`` is the address as sent (an email, or E.164 for SMS and calls);
    logs mask it. ``subject`` is the email's subject, or for a call the prompt read inside
    its Gather; ``body`` the plain-text part, the SMS text or the spoken script.
    ``provider_id`` is the Twilio SID, or the email's Message-ID. ``hook`` names the
    ``notifications.hooks`` gather handler of a call; ``digits`` what the callee pressed.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (
        Index("ix_outbound_messages_company_created", "company_id", "created_at"),
        Index("ix_outbound_messages_status_sending", "status", "sending_at"),
        Index("ix_outbound_messages_recipient", "recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="SENDING")
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    provider_id: Mapped[str | None] = mapped_column(String(250), index=True)
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(500))
    hook: Mapped[str | None] = mapped_column(String(40))
    digits: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the provider reported the final outcome (delivered, completed, no-answer...).
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EmailSuppression(db.Model):
    """An address this merchant must never email again, kept only as ``email_hash`` (64 hex:
    HMAC-SHA256 of the normalised address, ``suppression.email_hash``). ``reason``:
    UNSUBSCRIBED, BOUNCED, COMPLAINED or MANUAL; ``source`` where it came from (one-click
    POST, link, mailto, admin)."""

    __tablename__ = "email_suppressions"
    __table_args__ = (UniqueConstraint("company_id", "email_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16), default="UNSUBSCRIBED")
    source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhoneConsent(db.Model):
    """A person's consent to this merchant's texts (``channel`` SMS) or calls (VOICE) at
    ``phone`` (E.164): when it was given (``consented_at``), the exact words shown
    (``consent_text``) and where (``source``: CHECKOUT, IMPORT, MANUAL, SMS_START...); when
    withdrawn, the time and ``withdrawal_source`` (SMS_STOP, VOICE_KEYPAD, ADMIN...).
    ``history`` lists every change as {"at", "event", "source"}, oldest first, so a consent
    given again keeps the one before. Consent holds while ``withdrawn_at`` is None.
    """

    __tablename__ = "phone_consents"
    __table_args__ = (UniqueConstraint("company_id", "phone", "channel"),
                      Index("ix_phone_consents_phone", "phone"))

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    phone: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8), default=SMS)
    consent_text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_source: Mapped[str | None] = mapped_column(String(32))
    history: Mapped[list] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
