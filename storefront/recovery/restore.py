"""The restore link ``/recover/<token>`` (issue "Channels"): the cart back in any browser,
the click recorded, and the order that follows attributed to the message.

"Clicked" is not "recovered": a click marks the message CLICKED; only an order marks it
EXECUTED and the attempt CONVERTED (``order_placed``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from storefront.cart.models import Cart
from storefront.cart.services import touch
from storefront.extensions import db
from storefront.leads.activities import record_activity
from storefront.leads.models import Lead
from storefront.pricing.codes import PromotionCodeError, find_code
from storefront.recovery.models import (
    CLICKED,
    CONVERTED,
    DELIVERED_INTERVENTION,
    EXECUTED,
    EXHAUSTED,
    OPEN_ATTEMPT,
    OPENED,
    PENDING,
    SENT,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.recovery.realtime import mark_bought
from storefront.recovery.services import finish_attempt, history
from storefront.types import utcnow

MAX_TOKEN = 64
RECOVERED_WITHIN_DAYS = 7
USABLE = ("ACTIVE", "ABANDONED")


class RestoreError(LookupError):
    """A restore link that cannot restore; ``title`` and ``str(error)`` are shown to the
    shopper on a friendly page."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title


@dataclass
class Restored:
    """The cart brought back, the code applied (or None) and a note for the shopper."""

    cart: Cart
    code: str | None
    note: str


def restore(token: str, now: datetime | None = None) -> Restored:
    """Bring back the cart of the message whose restore token is ``token``: the cart is in
    use again (ACTIVE; its prices are read from the database on every page), the message's
    code is applied when it still holds, the message is CLICKED (first click time kept),
    and the cart's source becomes the message's channel, which the order keeps. Commits.

    Raises RestoreError for a malformed or unknown token, a cart already ordered, or one
    that expired. A merged cart restores the cart it was merged into.
    """
    now = now or utcnow()
    if not token or len(token) > MAX_TOKEN or not token.replace("-", "").replace("_", "").isalnum():
        raise RestoreError("This link doesn't work", "The link is not complete. Copy the whole link from the "
                                                     "message, or start again from the shop.")
    intervention = db.session.execute(select(CartIntervention).where(CartIntervention.token == token)
                                      .with_for_update()).scalar_one_or_none()
    if intervention is None or intervention.status not in (*DELIVERED_INTERVENTION, "UNKNOWN"):
        db.session.rollback()
        raise RestoreError("This link doesn't work", "We couldn't find this cart. It may have been removed.")
    attempt = intervention.attempt
    cart = db.session.get(Cart, attempt.cart_id)
    seen = {cart.id}
    while cart.status == "MERGED" and cart.merged_into_id and cart.merged_into_id not in seen:
        cart = db.session.get(Cart, cart.merged_into_id)
        seen.add(cart.id)
    if cart.status == "CONVERTED":
        db.session.rollback()
        raise RestoreError("You've already ordered", "This cart became an order. Thank you! Check your email "
                                                     "for the confirmation.")
    if cart.status not in USABLE:
        db.session.rollback()
        raise RestoreError("This cart has expired", "This cart is no longer available. The shop has "
                                                    "everything else waiting for you.")
    if intervention.clicked_at is None:
        intervention.clicked_at = now
        history(attempt, "CLICKED", now, intervention.stage, f"{intervention.channel} link opened")
        lead = db.session.get(Lead, attempt.lead_id) if attempt.lead_id else None
        if lead is not None and lead.erased_at is None and intervention.channel == "EMAIL":
            record_activity(lead, "EMAIL_CLICKED", {"intervention_id": intervention.id,
                                                    "stage": intervention.stage}, at=now)
    if intervention.status in (SENT, OPENED, "UNKNOWN"):
        intervention.status = CLICKED
    intervention.updated_at = now
    code, note = None, "Your cart is back."
    if intervention.offer_code:
        try:
            find_code(cart.company_id, intervention.offer_code, now)
            cart.promotion_code, code = intervention.offer_code, intervention.offer_code
            note = f"Your cart is back, with code {code} applied."
        except PromotionCodeError as error:
            note = f"Your cart is back. The code {intervention.offer_code} no longer applies: {error}"
    cart.source_type = intervention.channel
    touch(cart)
    db.session.commit()
    return Restored(cart, code, note)


def order_placed(order, cart: Cart | None) -> None:
    """Checkout's ``order_completed`` hook (before its commit): running attempts of this
    cart, or of the order's email or phone at this merchant, are CONVERTED with the order
    and their pending messages cancelled; the last clicked message of the cart becomes
    EXECUTED with the order and its amount (cents); a real-time save of a PENDING attempt
    records BOUGHT (``realtime.mark_bought``). An order is recovered whether or not a link
    was used; the link only tells how."""
    now = utcnow()
    who = [CartSaveAttempt.cart_id == cart.id] if cart is not None else []  # an order may have no cart
    if order.email:
        who.append(func.lower(CartSaveAttempt.email) == order.email.lower())
    if order.phone:
        who.append(CartSaveAttempt.phone == order.phone)
    if not who:
        return
    attempts = db.session.execute(
        select(CartSaveAttempt).where(
            CartSaveAttempt.company_id == order.company_id, or_(*who),
            or_(CartSaveAttempt.status.in_(OPEN_ATTEMPT),
                # every message already went out: still recovered within 7 days of the last
                and_(CartSaveAttempt.status == EXHAUSTED,
                     CartSaveAttempt.completed_at >= now - timedelta(days=RECOVERED_WITHIN_DAYS))))
        .order_by(CartSaveAttempt.id).with_for_update()).scalars().all()
    pending = [attempt for attempt in attempts if attempt.status == PENDING]  # made by a real-time save
    if pending:
        mark_bought(pending, order, now)
    for attempt in attempts:
        attempt.order_id, attempt.recovered_cents = order.id, order.amount_paid_cents
        if attempt.status == EXHAUSTED:
            attempt.status = CONVERTED
            history(attempt, CONVERTED, now, detail=f"order {order.number} placed after the last message")
        else:
            finish_attempt(attempt, CONVERTED, now, f"order {order.number} placed")
    if cart is None:
        return
    clicked = db.session.execute(
        select(CartIntervention).join(CartSaveAttempt, CartSaveAttempt.id == CartIntervention.attempt_id)
        .where(CartSaveAttempt.cart_id == cart.id, CartIntervention.clicked_at.is_not(None),
               CartIntervention.order_id.is_(None))
        .order_by(CartIntervention.clicked_at.desc()).limit(1).with_for_update()).scalar_one_or_none()
    if clicked is not None:
        clicked.status, clicked.executed_at = EXECUTED, now
        clicked.order_id, clicked.order_cents = order.id, order.amount_paid_cents
        if clicked.attempt.order_id is None:
            clicked.attempt.order_id, clicked.attempt.recovered_cents = order.id, order.amount_paid_cents
