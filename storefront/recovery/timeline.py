"""A cart's recovery, for the admin's cart detail (issue 11, "On the cart detail: the
intervention timeline, with 'send now' and 'stop recovery'"): its attempts with their
messages, and the merchant's two actions on them, scoped to the cart and its merchant.

Every function takes the merchant's ``company_id``; a cart, attempt or message of another
merchant is "not found" (None), never "forbidden".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storefront.extensions import db
from storefront.recovery import delivery, services
from storefront.recovery.models import (
    ACTIVE,
    OPEN_ATTEMPT,
    PAUSED,
    SCHEDULED,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.types import utcnow

SENDABLE = (SCHEDULED, PAUSED)


def cart_attempts(company_id: int, cart_id: int) -> list[CartSaveAttempt]:
    """The cart's attempts, newest first, each with its messages (in schedule order) loaded
    in one more statement. Two statements (the attempts use ix_cart_save_attempts_cart_status)."""
    return list(db.session.execute(
        select(CartSaveAttempt).where(CartSaveAttempt.company_id == company_id, CartSaveAttempt.cart_id == cart_id)
        .order_by(CartSaveAttempt.started_at.desc(), CartSaveAttempt.id.desc())
        .options(selectinload(CartSaveAttempt.interventions))).scalars())


def may_send_now(attempt: CartSaveAttempt, message: CartIntervention) -> bool:
    """Whether "send now" applies: a SCHEDULED or PAUSED message of a running attempt."""
    return attempt.status == ACTIVE and message.status in SENDABLE and message.channel != "PAGE"


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``done`` (False: it was already done, a replay), and the words."""

    done: bool
    message: str


def stop(company_id: int, cart_id: int, user, now: datetime | None = None) -> Outcome:
    """"Stop recovery" on the cart: its running attempts EXPIRE, their pending messages
    cancelled (``services.stop_by_merchant``). Nothing running: a no-op (``done`` False).
    Commits."""
    now = now or utcnow()
    running = db.session.execute(select(CartSaveAttempt).where(
        CartSaveAttempt.company_id == company_id, CartSaveAttempt.cart_id == cart_id,
        CartSaveAttempt.status.in_(OPEN_ATTEMPT)).order_by(CartSaveAttempt.id)).scalars().all()
    if not running:
        return Outcome(False, "Recovery is not running for this cart: nothing to stop.")
    cancelled = sum(services.stop_by_merchant(attempt, user, now) for attempt in running)
    return Outcome(True, f"Recovery stopped: {cancelled} message{'s' if cancelled != 1 else ''} cancelled.")


def send_now(company_id: int, cart_id: int, intervention_id: int, now: datetime | None = None) -> Outcome | None:
    """"Send now" on one message of the cart (``delivery.send_now``: claimed and enqueued at
    once; stop rules, consent and quiet hours still apply when it is sent). None when the
    message is not one of this cart's at this merchant; ``done`` False when it is no longer
    pending (already sent or queued: a replay) or its attempt has ended. Commits."""
    found = db.session.execute(
        select(CartIntervention, CartSaveAttempt).join(CartSaveAttempt, CartSaveAttempt.id == CartIntervention.attempt_id)
        .where(CartIntervention.id == intervention_id, CartIntervention.company_id == company_id,
               CartSaveAttempt.company_id == company_id, CartSaveAttempt.cart_id == cart_id)).first()
    if found is None:
        return None
    message, attempt = found
    if not may_send_now(attempt, message) or delivery.send_now(attempt, message.id, now) is None:
        return Outcome(False, "This message is no longer waiting: it was sent, queued or cancelled.")
    return Outcome(True, "Message sent to the queue: it goes out now unless a stop rule or quiet hours hold it.")
