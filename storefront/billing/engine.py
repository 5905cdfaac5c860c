"""The billing engine: database-first ticks and jobs (ARCHITECTURE §5).

- ``bill_due_subscriptions`` (cron, every 5 minutes): claims due subscriptions with
  ``FOR UPDATE SKIP LOCKED``, makes the period's Invoice exactly once (unique per
  subscription and period), moves the subscription to its next period and schedules
  attempt 1, all in one transaction; then queues ``charge_attempt`` per attempt.
- ``run_due_retries`` (cron, every minute): claims SCHEDULED attempts that are due (same
  locking) and queues them; applies the plan's after-max-retries action to open invoices
  whose dunning deadline passed with nothing scheduled.
- ``charge_attempt`` (RQ job): commits the attempt as CHARGING before any Stripe call; a
  job that finds it CHARGING already (a retry after a crash) first asks Stripe for the
  intent made under the attempt's key (metadata) and charges only when there is none.
- ``settle`` is the one transition from a charge's answer to the database, shared by the
  job and the webhook (``settle_intent``): locks the invoice then the attempt, and is a
  no-op once the attempt is settled. A paid invoice makes one Order.

With Redis lost nothing is lost: every schedule is a row; a CLAIMED attempt whose job never
ran is claimed again after ``RECLAIM_AFTER``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq import Retry
from sqlalchemy import or_, select

from storefront.billing import declines, history
from storefront.billing.customer_time import BankHolidays, customer_zone
from storefront.billing.double_pay import queue_refund
from storefront.billing.dunning import queue_notice
from storefront.billing.models import Invoice, PaymentAttempt, Subscription, SubscriptionPlan
from storefront.billing.plans import add_interval
from storefront.billing.queries import attempts_of
from storefront.billing.renewals import create_renewal_order
from storefront.billing.save_flow import offer_after_retries
from storefront.billing.schedule import RetrySettings, next_retry
from storefront.extensions import db
from storefront.payments import saved_cards
from storefront.payments.services import after_order
from storefront.queue import enqueue_many
from storefront.types import utcnow

log = logging.getLogger(__name__)

BILLABLE = ("ACTIVE", "TRIALING")
SETTLED = ("SUCCEEDED", "FAILED", "REQUIRES_ACTION", "SKIPPED")
RECLAIM_AFTER = timedelta(minutes=30)
BATCH = 500


def attempt_key(invoice_id: int, number: int) -> str:
    """The attempt's Stripe idempotency key and metadata key: ``invoice-<id>-attempt-<n>``."""
    return f"invoice-{invoice_id}-attempt-{number}"


def _new_attempt(invoice: Invoice, number: int, at: datetime, reason: str, kind: str,
                 strategy: str | None, status: str = "SCHEDULED") -> PaymentAttempt:
    attempt = PaymentAttempt(company_id=invoice.company_id, invoice_id=invoice.id, number=number,
                             idempotency_key=attempt_key(invoice.id, number), kind=kind, strategy=strategy,
                             status=status, scheduled_at=at, reason=reason)
    db.session.add(attempt)
    return attempt


def _open_periods(subs: list[Subscription], now: datetime) -> list[PaymentAttempt]:
    """The due period's invoice and first attempt for each locked subscription, in a few
    statements per batch (one INSERT of the invoices, one of the attempts). A period whose
    invoice exists already (the unique (subscription, period_start) says so) only moves
    the subscription on."""
    if not subs:
        return []
    existing = {tuple(row) for row in db.session.execute(
        select(Invoice.subscription_id, Invoice.period_start)
        .where(Invoice.subscription_id.in_([sub.id for sub in subs]))
        .where(Invoice.period_start.in_({sub.next_billing_at for sub in subs}))
    ).all()}
    plans = {plan.id: plan for plan in db.session.execute(
        select(SubscriptionPlan).where(SubscriptionPlan.id.in_({sub.plan_id for sub in subs}))).scalars()}
    invoices = []
    for sub in subs:
        plan = plans[sub.plan_id]
        start = sub.next_billing_at
        end = add_interval(start, plan.interval, plan.interval_count)
        if (sub.id, start) in existing:
            log.warning("subscription %s: the invoice of %s exists already", sub.id, start)
        else:
            # An accepted save offer's discount applies to this one invoice (save_flow).
            amount = plan.price_cents * sub.quantity * (100 - (sub.next_discount_percent or 0)) // 100
            invoices.append(Invoice(company_id=sub.company_id, subscription_id=sub.id, period_start=start,
                                    period_end=end, amount_cents=amount, currency=plan.currency))
            sub.next_discount_percent = 0
        sub.current_period_start, sub.current_period_end, sub.next_billing_at = start, end, end
    db.session.add_all(invoices)
    db.session.flush()
    attempts = [_new_attempt(invoice, 1, now, f"renewal due {invoice.period_start:%Y-%m-%d %H:%M} UTC", "RENEWAL",
                             None, "CLAIMED") for invoice in invoices]
    db.session.flush()
    return attempts


def bill_due_subscriptions(now: datetime | None = None, batch: int = BATCH) -> int:
    """Make the due periods' invoices and queue their first charge; returns how many.

    Claims ACTIVE/TRIALING subscriptions with ``next_billing_at <= now`` (oldest first,
    ``FOR UPDATE SKIP LOCKED``: a second tick or worker skips them). Commits once per
    batch; the charges are queued after the commit.
    """
    clock, now = now, now or utcnow()
    subs = db.session.execute(
        select(Subscription)
        .where(Subscription.status.in_(BILLABLE), Subscription.next_billing_at <= now,
               Subscription.payment_method_id.is_not(None))
        .order_by(Subscription.next_billing_at, Subscription.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Subscription).execution_options(populate_existing=True)
    ).scalars().all()
    ids = [attempt.id for attempt in _open_periods(list(subs), now)]
    db.session.commit()
    queue_charges(ids, clock)
    return len(ids)


def run_due_retries(now: datetime | None = None, batch: int = BATCH) -> int:
    """Queue the retries that are due, and close invoices whose dunning deadline passed;
    returns how many attempts were queued.

    SCHEDULED attempts with ``scheduled_at <= now`` are claimed with ``FOR UPDATE SKIP
    LOCKED`` and marked CLAIMED before being queued; CLAIMED or CHARGING ones whose job
    never finished (over RECLAIM_AFTER ago: Redis or the worker was lost) are queued again.
    """
    clock, now = now, now or utcnow()
    rows = db.session.execute(
        select(PaymentAttempt)
        .where(or_(
            (PaymentAttempt.status == "SCHEDULED") & (PaymentAttempt.scheduled_at <= now),
            (PaymentAttempt.status == "CLAIMED") & (PaymentAttempt.scheduled_at <= now - RECLAIM_AFTER),
            (PaymentAttempt.status == "CHARGING") & (PaymentAttempt.started_at <= now - RECLAIM_AFTER),
        ))
        .order_by(PaymentAttempt.scheduled_at, PaymentAttempt.id)
        .limit(batch)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    for attempt in rows:
        # A reclaimed job's window restarts from this claim. A CHARGING one stays CHARGING,
        # so its job asks Stripe for the intent before charging again.
        if attempt.status == "CHARGING":
            attempt.started_at = now
        elif attempt.status == "CLAIMED":
            attempt.scheduled_at = now
        else:
            attempt.status = "CLAIMED"
    ids = [attempt.id for attempt in rows]
    db.session.commit()
    queue_charges(ids, clock)
    close_expired_invoices(now)
    return len(ids)


def queue_charge(attempt_id: int, clock: datetime | None = None) -> None:
    """Queue ``charge_attempt`` (retried on transient faults). An injected clock travels
    with the job (tests move time); otherwise the job reads the time when it runs."""
    queue_charges([attempt_id], clock)


def queue_charges(attempt_ids: list[int], clock: datetime | None = None) -> None:
    """``queue_charge`` for many attempts in one Redis round trip."""
    calls = [(attempt_id,) if clock is None else (attempt_id, clock) for attempt_id in attempt_ids]
    if calls:
        enqueue_many(charge_attempt, calls, retry=Retry(max=3, interval=[30, 120, 600]))


def charge_attempt(attempt_id: int, now: datetime | None = None) -> str:
    """Charge one attempt off-session; returns what ``settle`` did, or why nothing was done.

    The attempt is committed CHARGING before the charge. A job that finds it CHARGING
    already (a retried job: the last one may have charged and died before its commit)
    looks up the PaymentIntent made under ``attempt.idempotency_key`` first. Raises
    gateway.PaymentError when Stripe cannot be asked (RQ retries the job).
    """
    now = now or utcnow()
    attempt = db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if attempt is None or attempt.status in SETTLED:
        db.session.rollback()
        return "nothing to do"
    if attempt.status == "SCHEDULED" and attempt.scheduled_at > now:
        db.session.rollback()
        return "not due"
    invoice = db.session.get(Invoice, attempt.invoice_id)
    sub = db.session.get(Subscription, invoice.subscription_id)
    if invoice.status != "OPEN" or not sub.payment_method_id or not sub.stripe_customer_id:
        attempt.status, attempt.outcome, attempt.finished_at = "SKIPPED", invoice.status.lower(), now
        db.session.commit()
        return "skipped"
    resumed = attempt.status == "CHARGING"
    if not resumed:
        attempt.status, attempt.started_at = "CHARGING", now
    key, amount, currency = attempt.idempotency_key, invoice.amount_cents, invoice.currency
    customer, method = sub.stripe_customer_id, sub.payment_method_id
    metadata = {"invoice_id": str(invoice.id), "subscription_id": str(sub.id), "company_id": str(sub.company_id)}
    db.session.commit()

    charge = saved_cards.find_intent(customer, key) if resumed else None
    if charge is None:
        charge = saved_cards.charge_off_session(customer_id=customer, payment_method_id=method, amount_cents=amount,
                                            currency=currency, idempotency_key=key, metadata=metadata)
    return settle(attempt_id, charge, now)


def _learned(sub: Subscription):
    zone, _how = customer_zone(sub.billing_country, sub.phone, sub.plan.timezone)
    holidays = BankHolidays(sub.billing_country)
    customer, merchant = history.learned_for(sub, zone, holidays)
    return zone, holidays, customer, merchant


def _schedule_next(invoice: Invoice, sub: Subscription, attempt: PaymentAttempt, now: datetime):
    plan = sub.plan
    attempts = attempts_of(invoice.id)
    done = [a for a in attempts if a.status == "FAILED"]
    network_done = sum(1 for a in done if a.decline_class == declines.NETWORK and a.kind == "RETRY")
    soft_done = sum(1 for a in done if a.decline_class != declines.NETWORK and a.kind == "RETRY")
    zone, holidays, customer, merchant = _learned(sub)
    slot = next_retry(
        RetrySettings.of(plan), retries_done=soft_done, network_retries_done=network_done,
        decline_class=attempt.decline_class, decline_code=attempt.decline_code,
        first_failed_at=invoice.first_failed_at, last_attempt_at=now, now=now, zone_name=zone,
        holidays=holidays, customer=customer, merchant=merchant,
    )
    if slot is None:
        return None
    number = max(a.number for a in attempts) + 1
    return _new_attempt(invoice, number, slot.at, slot.reason, "RETRY", plan.retry_strategy)


def settle(attempt_id: int, charge: saved_cards.Charge, now: datetime | None = None) -> str:
    """Apply a charge's answer to its attempt, once; returns "paid", "failed",
    "action_required", "pending" or "already" (the attempt was settled before).

    Locks the invoice, then the attempt (the fixed order every path uses). Succeeded: the
    attempt SUCCEEDED, the invoice PAID with its one Order, the subscription ACTIVE.
    Failed: the decline is classified, the next retry scheduled with its reason, the
    subscription PAST_DUE; with no retry left, the plan's after-max-retries action applies
    (a HARD decline waits for a new card until the dunning deadline). Commits; queues the
    order confirmation and the dunning notice after the commit.
    """
    clock, now = now, now or utcnow()
    invoice_id = db.session.execute(select(PaymentAttempt.invoice_id).where(PaymentAttempt.id == attempt_id)).scalar_one()
    invoice = db.session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update().execution_options(populate_existing=True)).scalar_one()
    attempt = db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    if attempt.status in SETTLED:
        db.session.rollback()
        return "already"
    if charge.status in ("processing", "requires_confirmation"):
        attempt.payment_intent_id = charge.intent_id
        db.session.commit()
        return "pending"
    sub = db.session.get(Subscription, invoice.subscription_id)
    attempt.payment_intent_id = charge.intent_id
    attempt.finished_at = now
    invoice.attempt_count = max(invoice.attempt_count, attempt.number)
    order, paid_twice = None, False
    if charge.status == "succeeded":
        attempt.status, attempt.outcome = "SUCCEEDED", "succeeded"
        outcome = "paid"
        if invoice.status == "PAID":
            log.error("invoice %s was paid twice (attempt %s): refund %s", invoice.id, attempt.id, charge.intent_id)
            attempt.outcome = "paid_twice"  # refunded once by double_pay.refund_double_payment
            paid_twice = True
        else:
            invoice.status, invoice.paid_at, invoice.payment_intent_id = "PAID", now, charge.intent_id
            _cancel_scheduled(invoice, now)
            if sub.status in ("PAST_DUE", "TRIALING"):
                sub.status = "ACTIVE"
            order = create_renewal_order(invoice, sub, amount_paid_cents=charge.amount_cents or 0,
                                         currency=charge.currency or invoice.currency,
                                         payment_intent_id=charge.intent_id)
    else:
        outcome = _record_failure(invoice, sub, attempt, charge, now)
    db.session.commit()
    if order is not None:
        after_order(order)
    if paid_twice:
        queue_refund(attempt_id)
    queue_notice(attempt_id, outcome, clock)
    return outcome


def _record_failure(invoice: Invoice, sub: Subscription, attempt: PaymentAttempt, charge, now) -> str:
    if charge.status == "requires_action":
        attempt.status, attempt.outcome = "REQUIRES_ACTION", "requires_action"
        attempt.decline_code, attempt.decline_class = charge.code or "authentication_required", declines.HARD
    else:
        attempt.status = "FAILED"
        attempt.outcome = "error" if charge.network else "declined"
        attempt.decline_code = charge.decline_code or charge.code
        attempt.decline_class = declines.classify(charge.decline_code, charge.code, network=charge.network)
    attempt.failure_message = (charge.message or "")[:500] or None
    if invoice.status != "OPEN":
        return "failed"
    if invoice.first_failed_at is None:
        invoice.first_failed_at = now
        invoice.dunning_deadline = now + timedelta(days=sub.plan.max_days_to_retry)
    if sub.status in ("ACTIVE", "TRIALING"):
        sub.status = "PAST_DUE"
    if attempt.decline_class == declines.HARD:
        return "action_required"
    if _schedule_next(invoice, sub, attempt, now) is None:
        apply_final_action(invoice, sub, now)
        return "final_failed"
    return "failed"


def _cancel_scheduled(invoice: Invoice, now: datetime) -> None:
    for other in attempts_of(invoice.id):
        if other.status in ("SCHEDULED", "CLAIMED"):
            other.status, other.outcome, other.finished_at = "SKIPPED", "invoice_paid", now


def apply_final_action(invoice: Invoice, sub: Subscription, now: datetime) -> str:
    """The plan's ``afterMaxRetriesAction`` once retries are over (no commit): CANCEL cancels
    the subscription, PAUSE pauses it, MANUAL_REVIEW keeps it PAST_DUE for the merchant,
    SAVE_FLOW keeps it PAST_DUE while the save offer runs. The invoice becomes
    UNCOLLECTIBLE in every case but MANUAL_REVIEW. Returns the action."""
    action = sub.plan.after_max_retries_action
    _cancel_scheduled(invoice, now)
    if action == "CANCEL":
        sub.status, sub.canceled_at, sub.next_billing_at = "CANCELED", now, None
        sub.cancel_reason = "payment failed after every retry"
    elif action == "PAUSE":
        sub.status, sub.next_billing_at = "PAUSED", None
    elif action == "SAVE_FLOW":
        offer_after_retries(invoice, sub)
    if action != "MANUAL_REVIEW":
        invoice.status = "UNCOLLECTIBLE"
    return action


def close_expired_invoices(now: datetime | None = None, batch: int = BATCH) -> int:
    """Apply the after-max-retries action to OPEN invoices past their dunning deadline with
    no attempt scheduled (a HARD decline that got no new card), and tell the customer;
    returns how many. Commits."""
    clock, now = now, now or utcnow()
    pending = select(PaymentAttempt.id).where(PaymentAttempt.invoice_id == Invoice.id,
                                              PaymentAttempt.status.in_(("SCHEDULED", "CLAIMED", "CHARGING")))
    invoices = db.session.execute(
        select(Invoice)
        .where(Invoice.status == "OPEN", Invoice.dunning_deadline <= now, ~pending.exists())
        .order_by(Invoice.id).limit(batch).with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    closed = []
    for invoice in invoices:
        sub = db.session.get(Subscription, invoice.subscription_id)
        if sub.status == "PAST_DUE":
            apply_final_action(invoice, sub, now)
            last = attempts_of(invoice.id)
            closed.append(last[-1].id if last else None)
    db.session.commit()
    for attempt_id in closed:
        if attempt_id is not None:
            queue_notice(attempt_id, "final_failed", clock)  # the customer is told what happened
    return len(closed)


def settle_intent(intent: dict) -> str | None:
    """The webhook's way in: Stripe's copy of a PaymentIntent (a dict) whose metadata names
    one of our attempts settles it like the job does. Returns None for an intent that is
    not an invoice's (the webhook then ignores it), else ``settle``'s answer."""
    key = (intent.get("metadata") or {}).get("attempt_key")
    if not key or not key.startswith("invoice-"):
        return None
    attempt_id = db.session.execute(
        select(PaymentAttempt.id).where(PaymentAttempt.idempotency_key == key)
    ).scalar_one_or_none()
    if attempt_id is None:
        return None
    charge = saved_cards.charge_from_intent(intent)
    if charge.status == "requires_payment_method" and not charge.code:
        return "pending"  # not confirmed yet: nothing has happened to the card
    return settle(attempt_id, charge)
