"""The subscription save flow: before a subscription is lost, offer a discount on the next
charge, skipping a cycle, or pausing (ISSUE 12 §5 and §6).

Two ways in, one attempt type (``SaveOffer``):

- CANCEL: the customer asks to cancel in the portal. The first time, the offer is shown
  instead (key ``cancel-<subscription id>``, unique: a cancel meets a save offer once);
  confirming the cancel declines it, and a later cancel goes straight through.
- DUNNING: the retries are over and the plan's ``afterMaxRetriesAction`` is SAVE_FLOW
  (``engine.apply_final_action`` keeps the subscription PAST_DUE and the invoice becomes
  UNCOLLECTIBLE). ``offer_after_retries`` records the offer (key ``dunning-<invoice id>``);
  the final notice tells the customer, and the portal shows the offer.

Accepting: DISCOUNT takes ``SAVE_DISCOUNT_PERCENT`` off the next invoice (a PAST_DUE
subscription is billed again at once, discounted); SKIP moves the next charge one interval
on (a PAST_DUE one resumes from the next period, the failed one forgiven); PAUSE pauses.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storefront.billing.lifecycle import Change, subscription_of
from storefront.billing.models import Invoice, SaveOffer, Subscription
from storefront.billing.plans import add_interval
from storefront.extensions import db
from storefront.types import utcnow

SAVE_DISCOUNT_PERCENT = 20  # the discount offered; a merchant setting is left for later
CHOICES = ("DISCOUNT", "SKIP", "PAUSE")


def cancel_key(sub_id: int) -> str:
    return f"cancel-{sub_id}"


def dunning_key(invoice_id: int) -> str:
    return f"dunning-{invoice_id}"


def open_offer(sub: Subscription) -> SaveOffer | None:
    """The subscription's offer still waiting for an answer (newest), or None."""
    return db.session.execute(
        select(SaveOffer).where(SaveOffer.subscription_id == sub.id, SaveOffer.status == "OFFERED")
        .order_by(SaveOffer.id.desc()).limit(1)
    ).scalar_one_or_none()


def _add(offer: SaveOffer) -> SaveOffer | None:
    db.session.add(offer)
    try:
        db.session.commit()
    except IntegrityError:  # the same offer made twice at once: the first one stands
        db.session.rollback()
        return None
    return offer


def offer_on_cancel(sub_id: int, company_id: int, customer_id: int) -> SaveOffer | None:
    """The save offer a cancel meets, made now; None when this subscription met one
    already (answered or not) or cannot be saved (cancelled). Raises lifecycle.NotYours."""
    sub = subscription_of(sub_id, company_id, customer_id)
    if sub.status == "CANCELED":
        return None
    key = cancel_key(sub.id)
    if db.session.execute(select(SaveOffer.id).where(SaveOffer.key == key)).first() is not None:
        return None
    return _add(SaveOffer(company_id=sub.company_id, subscription_id=sub.id, key=key, trigger="CANCEL",
                          discount_percent=SAVE_DISCOUNT_PERCENT))


def offer_after_retries(invoice: Invoice, sub: Subscription) -> None:
    """Record the DUNNING offer for an invoice whose retries are over (no commit: the caller,
    ``engine.apply_final_action``, holds the invoice's lock and commits). Once per invoice."""
    key = dunning_key(invoice.id)
    if db.session.execute(select(SaveOffer.id).where(SaveOffer.key == key)).first() is None:
        db.session.add(SaveOffer(company_id=sub.company_id, subscription_id=sub.id, invoice_id=invoice.id,
                                 key=key, trigger="DUNNING", discount_percent=SAVE_DISCOUNT_PERCENT))


def _locked_offer(offer_id: int, sub: Subscription) -> SaveOffer | None:
    return db.session.execute(
        select(SaveOffer).where(SaveOffer.id == offer_id, SaveOffer.subscription_id == sub.id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def accept(offer_id: int, sub_id: int, company_id: int, customer_id: int, choice: str,
           now: datetime | None = None) -> Change:
    """Take the offer with ``choice`` (one of CHOICES). Locks the subscription, then the
    offer; an offer already answered is a no-op that says so. Raises lifecycle.NotYours."""
    now = now or utcnow()
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    offer = _locked_offer(offer_id, sub)
    if offer is None or choice not in CHOICES:
        db.session.commit()
        return Change(False, "That offer is not available.", error=True)
    if offer.status != "OFFERED" or sub.status == "CANCELED":
        db.session.commit()
        return Change(False, "You have already answered this offer.")
    plan, due = sub.plan, sub.status == "PAST_DUE"
    if choice == "DISCOUNT":
        sub.next_discount_percent = offer.discount_percent
        if due:
            sub.status, sub.next_billing_at = "ACTIVE", now
        message = f"{offer.discount_percent} % off your next charge: thank you for staying."
    elif choice == "SKIP":
        if due:
            sub.status, sub.next_billing_at = "ACTIVE", sub.current_period_end
        elif sub.next_billing_at is not None:
            sub.next_billing_at = add_interval(sub.next_billing_at, plan.interval, plan.interval_count)
        when = f" Next charge: {sub.next_billing_at:%d %B %Y}." if sub.next_billing_at else ""
        message = "The next delivery is skipped." + when
    else:
        sub.status, sub.next_billing_at = "PAUSED", None
        message = "Your subscription is paused. Nothing will be charged until you resume it."
    offer.status, offer.choice, offer.decided_at = "ACCEPTED", choice, now
    db.session.commit()
    return Change(True, message)

