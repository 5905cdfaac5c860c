"""At-most-once delivery (issue "Delivery", ARCHITECTURE §5): every send is an
``OutboundMessage`` under the caller's unique key, claimed and committed as SENDING before
the provider is called.

SMTP and Twilio take no idempotency key, so the guard is ours:

- ``claim`` inserts the row SENDING and commits. A second send with the same key finds the
  row and does nothing (``Claim.claimed`` False), except after a DEFERRED transient fault,
  where the provider is known not to have taken the message: then the same key may try
  again, up to ``max_attempts``.
- ``finish`` records the provider's answer (SENT with its id, FAILED with the reason).
- A send that stopped between SENDING and SENT (the worker killed, the machine lost) stays
  SENDING; ``sweep_unknown`` (a cron job) reports it UNKNOWN after a while. UNKNOWN is
  never re-sent automatically: a person may already have the message.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.notifications.models import OutboundMessage
from storefront.types import utcnow

log = logging.getLogger(__name__)

SENDING, SENT, DEFERRED, FAILED, UNKNOWN = "SENDING", "SENT", "DEFERRED", "FAILED", "UNKNOWN"
DELIVERED, UNDELIVERED = "DELIVERED", "UNDELIVERED"
COMPLETED, NO_ANSWER, BUSY = "COMPLETED", "NO_ANSWER", "BUSY"
# A provider's later report never moves a message back: a "sent" callback that arrives after
# "delivered" changes nothing.
FINAL = frozenset({FAILED, DELIVERED, UNDELIVERED, COMPLETED, NO_ANSWER, BUSY})
MAX_ATTEMPTS = 3
MAX_KEY = 120


class SendError(Exception):
    """A send that did not happen; ``str(error)`` is the reason recorded on the message."""


class TransientSendError(SendError):
    """The provider could not take the message now (SMTP 4xx, connection refused, Twilio 429
    or 5xx) and certainly has not sent it: the row is DEFERRED and the job should be retried
    (``rq.Retry``); the same key then sends. ``message_id`` is the row."""

    def __init__(self, reason: str, message_id: int) -> None:
        super().__init__(reason)
        self.message_id = message_id


class Refused(SendError):
    """Raised by a transport: the provider answered no for good (SMTP 5xx, Twilio 4xx such
    as an invalid or opted-out number). The message is FAILED with the reason."""


class Unreachable(SendError):
    """Raised by a transport: the provider did not take the message and certainly has not
    sent it (connection refused, SMTP 4xx, HTTP 429 or 5xx). Retried up to the attempts."""


@dataclass
class Claim:
    """The row of a key and whether this call may send it (False: already sent, failed,
    unknown or being sent by someone else)."""

    message: OutboundMessage
    claimed: bool


def claim(company_id: int, channel: str, key: str, recipient: str, body: str, *,
          subject: str | None = None, hook: str | None = None, now: datetime | None = None) -> Claim:
    """Claim ``key`` for one send and commit, before any provider is called.

    Raises ValueError for an empty or over-long key (at most 120 characters). The row holds
    what will be sent, so the admin outbox and a later UNKNOWN show it.
    """
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"an idempotency key is 1 to {MAX_KEY} characters")
    now = now or utcnow()
    existing = _by_key(key)
    if existing is None:
        message = OutboundMessage(company_id=company_id, channel=channel, idempotency_key=key,
                                  recipient=recipient, body=body, subject=subject, hook=hook,
                                  status=SENDING, attempts=1, created_at=now, sending_at=now)
        db.session.add(message)
        try:
            db.session.commit()
            return Claim(message, True)
        except IntegrityError:  # another worker claimed the key first
            db.session.rollback()
            existing = _by_key(key)
    if existing.status == DEFERRED:
        reclaimed = db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == existing.id, OutboundMessage.status == DEFERRED)
            .values(status=SENDING, attempts=OutboundMessage.attempts + 1, sending_at=now, error=None,
                    updated_at=now)
        ).rowcount
        db.session.commit()
        db.session.refresh(existing)
        return Claim(existing, reclaimed == 1)
    return Claim(existing, False)


def record_refusal(company_id: int, channel: str, key: str, recipient: str, body: str, reason: str, *,
                   subject: str | None = None, now: datetime | None = None) -> Claim:
    """Record under ``key`` a send refused before any provider was asked (suppressed, no
    consent, not configured): FAILED with ``reason``. A key already used keeps its row."""
    found = claim(company_id, channel, key, recipient, body, subject=subject, now=now)
    if found.claimed:
        finish(found.message, FAILED, error=reason, now=now)
    return found


def _by_key(key: str) -> OutboundMessage | None:
    return db.session.execute(select(OutboundMessage).filter_by(idempotency_key=key)).scalar_one_or_none()


def finish(message: OutboundMessage, status: str, *, provider_id: str | None = None, error: str | None = None,
           now: datetime | None = None) -> bool:
    """Record the provider's answer to a claimed send (SENT, FAILED, DEFERRED or UNKNOWN) and
    commit. Applies only while the row is SENDING or UNKNOWN (a callback may already have
    moved it on, and a known answer beats UNKNOWN); returns whether it applied."""
    now = now or utcnow()
    values = {"status": status, "updated_at": now}
    if provider_id:
        values["provider_id"] = provider_id
    if error is not None:
        values["error"] = error[:500]
    if status == SENT:
        values["sent_at"] = now
    changed = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message.id, OutboundMessage.status.in_((SENDING, UNKNOWN)))
        .values(**values)
    ).rowcount
    db.session.commit()
    db.session.refresh(message)
    return changed == 1


def defer_or_fail(message: OutboundMessage, reason: str, max_attempts: int) -> None:
    """After a transient fault: DEFERRED and raise TransientSendError, or FAILED with
    ``reason`` once ``max_attempts`` were made (then returns, so the caller reports it)."""
    if message.attempts >= max_attempts:
        finish(message, FAILED, error=f"{reason} (after {message.attempts} attempts)")
        return
    finish(message, DEFERRED, error=reason)
    raise TransientSendError(reason, message.id)


def deliver(message: OutboundMessage, transport: Callable[[], str], max_attempts: int = MAX_ATTEMPTS) -> OutboundMessage:
    """Run ``transport`` (it sends and returns the provider's id) for a claimed message and
    record the outcome: SENT; FAILED for ``Refused``; DEFERRED and TransientSendError for
    ``Unreachable`` (FAILED once ``max_attempts`` were made); UNKNOWN for anything else,
    since the provider may have taken the message (never re-sent). Returns ``message``."""
    try:
        provider_id = transport()
    except Refused as error:
        finish(message, FAILED, error=str(error))
        log.warning("%s %s refused: %s", message.channel, message.idempotency_key, error)
        return message
    except Unreachable as error:
        log.warning("%s %s not taken (attempt %d): %s", message.channel, message.idempotency_key,
                    message.attempts, error)
        defer_or_fail(message, str(error), max_attempts)
        return message
    except Exception as error:
        db.session.rollback()
        log.exception("%s %s: the send stopped without a clear answer", message.channel, message.idempotency_key)
        finish(message, UNKNOWN, error=f"{type(error).__name__}: {error}"[:300] + "; the provider may have it, not re-sent")
        return message
    finish(message, SENT, provider_id=provider_id)
    return message


def apply_provider_status(message: OutboundMessage, status: str, *, provider_id: str | None = None,
                          error: str | None = None, now: datetime | None = None) -> bool:
    """A provider's callback: move ``message`` to SENT or a final status (DELIVERED,
    UNDELIVERED, FAILED, COMPLETED, NO_ANSWER, BUSY). The first final status wins and a
    late "sent" never undoes it; a callback that beats ``finish`` (SENDING) or follows a
    sweep (UNKNOWN) still applies, and fills in ``provider_id``. Does not commit. Returns
    whether it changed. Raises ValueError for any other status."""
    if status not in FINAL and status != SENT:
        raise ValueError(f"not a provider status: {status}")
    if message.status in FINAL or (status == SENT and message.status == SENT):
        return False
    now = now or utcnow()
    message.status = status
    message.updated_at = now
    message.sent_at = message.sent_at or now
    if status in FINAL:
        message.finished_at = now
    if provider_id and not message.provider_id:
        message.provider_id = provider_id
    if error:
        message.error = error[:500]
    return True


def sweep_unknown(now: datetime | None = None, minutes: int | None = None) -> int:
    """Mark sends still SENDING ``minutes`` after they started UNKNOWN (default
    SEND_UNKNOWN_AFTER_MINUTES); returns how many. For the cron table: one indexed UPDATE on
    (status, sending_at), idempotent. UNKNOWN rows are shown in the admin and never re-sent."""
    from flask import current_app

    now = now or utcnow()
    if minutes is None:
        minutes = current_app.config.get("SEND_UNKNOWN_AFTER_MINUTES", 15)
    count = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == SENDING, OutboundMessage.sending_at < now - timedelta(minutes=minutes))
        .values(status=UNKNOWN, updated_at=now,
                error="the send stopped before the provider's answer was recorded; not re-sent")
    ).rowcount
    db.session.commit()
    if count:
        log.warning("%d sends reported UNKNOWN (stuck SENDING over %d minutes)", count, minutes)
    return count


def scrub_recipient(company_id: int, recipient: str) -> int:
    """Erase a person from this merchant's sent messages (a lead erased): the recipient,
    subject and body are blanked; statuses and times stay for the reports. Returns how
    many rows. Does not commit."""
    return db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.company_id == company_id, OutboundMessage.recipient == recipient)
        .values(recipient="(erased)", subject=None, body="", updated_at=utcnow())
    ).rowcount


def message_by_key(key: str) -> OutboundMessage | None:
    """The message sent under ``key``, or None: what callers read to mirror its status."""
    return _by_key(key)
