"""The stop rules of a recovery message, checked when it is sent (issue "Stop conditions"):
``decide`` is pure (unit-tested), ``facts_for`` reads the facts from the database.

Stop the whole attempt (every pending message CANCELLED):
- an order at this merchant by that cart, that email or that phone after the attempt
  started (the attempt is CONVERTED);
- the cart converted, merged, expired or emptied, the lead erased, or the shopper chose
  "Don't save my details" at checkout (EXPIRED).
Pause it: the cart is in use again (ACTIVE): its pending messages wait (PAUSED).
Cancel this message only: email to an address unsubscribed at this merchant; a text or
call without live consent (STOP replied, consent withdrawn, never given); any message to a
lead the merchant brought (MANUAL, IMPORT) without its consent to that channel
(``leads.intake.may_contact``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from storefront.cart.models import Cart, LineItem
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads.consent import is_opted_out
from storefront.leads.intake import may_contact
from storefront.leads.models import Lead
from storefront.notifications.consent import has_consent
from storefront.notifications.phones import PhoneError, normalise_phone
from storefront.notifications.suppression import is_suppressed
from storefront.recovery.models import CONVERTED, EXPIRED, CartIntervention, CartSaveAttempt

SEND, PAUSE, CANCEL_ONE, STOP_ATTEMPT = "SEND", "PAUSE", "CANCEL_ONE", "STOP_ATTEMPT"


@dataclass(frozen=True)
class Facts:
    """What the rules look at, read at send time. ``order_id``: an order by the cart, email
    or phone since the attempt started, else None. ``reachable``: the channel may be used
    (email not suppressed; live SMS or voice consent). ``consented``: False for a lead the
    merchant brought without consent to this channel."""

    channel: str
    cart_status: str
    line_count: int
    order_id: int | None
    lead_erased: bool
    reachable: bool
    opted_out: bool = False
    consented: bool = True


@dataclass(frozen=True)
class Decision:
    """``action`` (SEND, PAUSE, CANCEL_ONE, STOP_ATTEMPT), the reason in words, and for
    STOP_ATTEMPT the attempt's new status (CONVERTED or EXPIRED)."""

    action: str
    reason: str = ""
    attempt_status: str | None = None


def decide(facts: Facts) -> Decision:
    """Apply the rules of the module docstring, in its order (an order beats everything)."""
    if facts.order_id is not None or facts.cart_status == "CONVERTED":
        return Decision(STOP_ATTEMPT, "the shopper placed an order", CONVERTED)
    if facts.lead_erased:
        return Decision(STOP_ATTEMPT, "the lead was erased", EXPIRED)
    if facts.opted_out:
        return Decision(STOP_ATTEMPT, "the shopper chose not to have their details saved", EXPIRED)
    if facts.cart_status in ("MERGED", "EXPIRED"):
        return Decision(STOP_ATTEMPT, f"the cart was {facts.cart_status.lower()}", EXPIRED)
    if facts.line_count == 0:
        return Decision(STOP_ATTEMPT, "the cart was emptied", EXPIRED)
    if facts.cart_status == "ACTIVE":
        return Decision(PAUSE, "the shopper is back on the cart")
    if not facts.consented:
        return Decision(CANCEL_ONE, f"no {facts.channel} consent recorded for a lead the merchant brought")
    if not facts.reachable:
        return Decision(CANCEL_ONE, "unsubscribed from emails" if facts.channel == "EMAIL"
                        else f"no {facts.channel} consent (STOP, withdrawn or never given)")
    return Decision(SEND)


def contact_phone(raw: str | None, country: str | None = None) -> str | None:
    """``raw`` in E.164, or None when it is not a phone number."""
    if not raw:
        return None
    try:
        return normalise_phone(raw, country or "US")
    except PhoneError:
        return None


def order_since(attempt: CartSaveAttempt) -> Order | None:
    """The first order at the attempt's merchant by its cart, email or phone placed since
    the attempt started, or None."""
    who = [Order.cart_id == attempt.cart_id]
    if attempt.email:
        who.append(func.lower(Order.email) == attempt.email.lower())
    if attempt.phone:
        who.append(Order.phone == attempt.phone)
    return db.session.execute(
        select(Order).where(Order.company_id == attempt.company_id, Order.created_at >= attempt.started_at, or_(*who))
        .order_by(Order.id).limit(1)).scalar_one_or_none()


def reachable(intervention: CartIntervention, attempt: CartSaveAttempt) -> bool:
    """True when the intervention's channel may reach the attempt's contact now."""
    if intervention.channel == "EMAIL":
        try:
            return bool(attempt.email) and not is_suppressed(attempt.company_id, attempt.email)
        except ValueError:
            return False
    if not attempt.phone:
        return False
    return has_consent(attempt.company_id, attempt.phone, intervention.channel)


def facts_for(intervention: CartIntervention, attempt: CartSaveAttempt, cart: Cart) -> Facts:
    """Read the facts ``decide`` needs, now."""
    lines = db.session.execute(select(func.count(LineItem.id)).where(LineItem.cart_id == cart.id)).scalar_one()
    lead = db.session.get(Lead, attempt.lead_id) if attempt.lead_id else None
    order = order_since(attempt)
    return Facts(channel=intervention.channel, cart_status=cart.status, line_count=lines,
                 order_id=order.id if order else None, lead_erased=bool(lead and lead.erased_at),
                 reachable=reachable(intervention, attempt), opted_out=is_opted_out(cart),
                 consented=lead is None or may_contact(lead, intervention.channel))
