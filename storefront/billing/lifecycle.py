"""What a customer may do to their own subscription: pause, resume, skip the next charge,
change the quantity or the next billing date, and cancel (the portal calls these).

Each change locks the subscription row (``FOR UPDATE``, so a pause and a cancel sent at
once apply one after the other, never interleaved), checks that it belongs to the
customer at this merchant (another's answers ``NotYours``: the route's 404), and commits.
A change that was already applied (pausing a paused subscription, cancelling a cancelled
one, skipping a charge already skipped) is a no-op that says so: ``Change.changed`` is
False and ``message`` explains (ARCHITECTURE §3, state transitions).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from storefront.billing.customer_time import BankHolidays, customer_zone
from storefront.billing.history import learned_for
from storefront.billing.models import SaveOffer, Subscription
from storefront.billing.plans import add_interval
from storefront.extensions import db
from storefront.types import utcnow

MAX_QUANTITY = 100  # the same bound start_subscription keeps
DATE_CHOICES_DAYS = 35  # how far ahead a customer may move the next charge


class NotYours(LookupError):
    """No subscription of this customer at this merchant has that id."""


@dataclass(frozen=True)
class Change:
    """A change's outcome: ``changed`` False for a no-op or a refusal, ``message`` the words
    for the customer, ``error`` True when the request was refused (not merely repeated)."""

    changed: bool
    message: str
    error: bool = False


def customer_subscriptions(company_id: int, customer_id: int) -> list[Subscription]:
    """The customer's subscriptions at this merchant, newest first, with their plans."""
    return list(db.session.execute(
        select(Subscription).where(Subscription.company_id == company_id, Subscription.customer_id == customer_id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    ).scalars())


def subscription_of(sub_id: int, company_id: int, customer_id: int, *, lock: bool = False) -> Subscription:
    """The customer's subscription ``sub_id`` (locked ``FOR UPDATE`` with ``lock``); raises
    NotYours for another customer's or merchant's, or an unknown id."""
    query = select(Subscription).where(Subscription.id == sub_id, Subscription.company_id == company_id,
                                       Subscription.customer_id == customer_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    sub = db.session.execute(query).scalar_one_or_none()
    if sub is None:
        raise NotYours(sub_id)
    return sub


def _done(change: Change) -> Change:
    db.session.commit()  # releases the row lock whatever the outcome
    return change


def pause(sub_id: int, company_id: int, customer_id: int, now: datetime | None = None) -> Change:
    """ACTIVE or TRIALING → PAUSED: nothing is charged or shipped until resumed."""
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status == "PAUSED":
        return _done(Change(False, "Your subscription is already paused."))
    if sub.status == "CANCELED":
        return _done(Change(False, "This subscription is cancelled.", error=True))
    if sub.status == "PAST_DUE":
        return _done(Change(False, "A payment is due: please update your card before pausing.", error=True))
    sub.status, sub.next_billing_at = "PAUSED", None
    return _done(Change(True, "Your subscription is paused. Nothing will be charged until you resume it."))


def resume(sub_id: int, company_id: int, customer_id: int, now: datetime | None = None) -> Change:
    """PAUSED → ACTIVE: billed at the end of the period already paid, or now when that has passed."""
    now = now or utcnow()
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status != "PAUSED":
        already = sub.status in ("ACTIVE", "TRIALING")
        return _done(Change(False, "Your subscription is already active." if already
                            else "Only a paused subscription can be resumed.", error=not already))
    sub.status, sub.next_billing_at = "ACTIVE", max(sub.current_period_end, now)
    return _done(Change(True, f"Your subscription is active again. Next charge: {sub.next_billing_at:%d %B %Y}."))


def skip_next(sub_id: int, company_id: int, customer_id: int, seen: date, now: datetime | None = None) -> Change:
    """Skip the charge the customer saw (``seen``: its date): the next billing moves one
    interval later. When the next charge is no longer on ``seen`` (skipped already, by a
    second click or another tab), nothing moves."""
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status not in ("ACTIVE", "TRIALING") or sub.next_billing_at is None:
        return _done(Change(False, "Only an active subscription's next charge can be skipped.", error=True))
    if sub.next_billing_at.date() != seen:
        return _done(Change(False, f"That charge is already skipped. Next charge: {sub.next_billing_at:%d %B %Y}."))
    sub.next_billing_at = add_interval(sub.next_billing_at, sub.plan.interval, sub.plan.interval_count)
    return _done(Change(True, f"Skipped. Your next charge is on {sub.next_billing_at:%d %B %Y}."))


def change_quantity(sub_id: int, company_id: int, customer_id: int, quantity: int) -> Change:
    """A new quantity (1..MAX_QUANTITY) from the next charge on."""
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status == "CANCELED":
        return _done(Change(False, "This subscription is cancelled.", error=True))
    if not 1 <= quantity <= MAX_QUANTITY:
        return _done(Change(False, f"Choose a quantity from 1 to {MAX_QUANTITY}.", error=True))
    if sub.quantity == quantity:
        return _done(Change(False, f"The quantity is already {quantity}."))
    sub.quantity = quantity
    return _done(Change(True, f"From your next charge you'll get {quantity}."))


def date_choices(sub: Subscription, now: datetime | None = None) -> list[tuple[date, str]]:
    """The dates the next charge may move to: each day from tomorrow for DATE_CHOICES_DAYS,
    as (date, label). With the plan's ``allowMIBillingDateOptimization`` on and a payday
    detected from this customer's payments (``payday.detect_payday``), the paydays come
    first, labelled with the rule that found them."""
    now = now or utcnow()
    first, last = (now + timedelta(days=1)).date(), (now + timedelta(days=DATE_CHOICES_DAYS)).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    choices = [(day, f"{day:%A %d %B %Y}") for day in days]
    if not sub.plan.allow_mi_billing_date_optimization:
        return choices
    zone, _how = customer_zone(sub.billing_country, sub.phone, sub.plan.timezone)
    holidays = BankHolidays(sub.billing_country)
    mine, _merchant = learned_for(sub, zone, holidays)
    if mine.payday is None:
        return choices
    paydays = mine.payday.occurrences(first, last, holidays)
    labelled = [(day, f"{day:%A %d %B %Y} (your payday: {mine.payday.explain()})") for day in paydays]
    return labelled + [choice for choice in choices if choice[0] not in set(paydays)]


def change_date(sub_id: int, company_id: int, customer_id: int, day: date, now: datetime | None = None) -> Change:
    """Move the next charge to ``day`` (one of ``date_choices``), at the same UTC time of day."""
    now = now or utcnow()
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status not in ("ACTIVE", "TRIALING") or sub.next_billing_at is None:
        return _done(Change(False, "Only an active subscription's next charge can be moved.", error=True))
    if day not in {d for d, _label in date_choices(sub, now)}:
        return _done(Change(False, "Choose a date from the list.", error=True))
    if sub.next_billing_at.date() == day:
        return _done(Change(False, f"Your next charge is already on {day:%d %B %Y}."))
    at = sub.next_billing_at.timetz() if sub.next_billing_at else time(12, tzinfo=now.tzinfo)
    sub.next_billing_at = datetime.combine(day, at)
    return _done(Change(True, f"Your next charge is now on {day:%d %B %Y}."))


def cancel(sub_id: int, company_id: int, customer_id: int, reason: str, now: datetime | None = None) -> Change:
    """Cancel for good, keeping the customer's ``reason``; nothing more is charged. Open
    save offers are DECLINED (``save_flow``)."""
    now = now or utcnow()
    sub = subscription_of(sub_id, company_id, customer_id, lock=True)
    if sub.status == "CANCELED":
        return _done(Change(False, "This subscription is already cancelled."))
    sub.status, sub.canceled_at, sub.next_billing_at = "CANCELED", now, None
    sub.cancel_reason = reason[:500] or "no reason given"
    for offer in db.session.execute(select(SaveOffer).where(SaveOffer.subscription_id == sub.id,
                                                            SaveOffer.status == "OFFERED")).scalars():
        offer.status, offer.decided_at = "DECLINED", now  # cancelled anyway
    return _done(Change(True, "Your subscription is cancelled. You won't be charged again."))
