"""Pattern analysis, nightly: re-learn payment patterns and re-plan the retries waiting on them.

A retry's time is chosen when the charge before it fails, from the payments known then
(``history.learned_for``: the customer's payday, best hour and weekday, else the
merchant's). Payments keep arriving (this customer's orders, every other subscriber's
renewals), so each night ``replan_retries`` learns the patterns again and asks the same
question the engine asked (``schedule.next_retry``), *as of the same moment*: the failure
that scheduled the retry. Only the learned facts differ, so an unchanged history gives the
same answer and nothing moves (no drift from night to night); a changed one moves the
retry, and its stored reason says it was re-planned. A retry is only moved forward of
``now + MIN_LEAD`` (never into the past, never one about to be claimed).

Only MI_OPTIMIZED retries are re-planned: the other strategies do not read the patterns.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from storefront.billing import declines
from storefront.billing.customer_time import BankHolidays, customer_zone
from storefront.billing.history import learned_for
from storefront.billing.models import Invoice, PaymentAttempt, Subscription
from storefront.billing.queries import attempts_of
from storefront.billing.schedule import RetrySettings, next_retry
from storefront.extensions import db
from storefront.types import utcnow

log = logging.getLogger(__name__)

MIN_LEAD = timedelta(hours=1)
BATCH = 500
REPLANNED = " (re-planned nightly from the latest payment history)"


def _replan(attempt: PaymentAttempt, now: datetime) -> bool:
    invoice = db.session.get(Invoice, attempt.invoice_id)
    sub = db.session.get(Subscription, invoice.subscription_id)
    if invoice.status != "OPEN" or invoice.first_failed_at is None:
        return False
    earlier = [a for a in attempts_of(invoice.id) if a.number < attempt.number]
    failed = [a for a in earlier if a.status == "FAILED"]
    if not failed or failed[-1].finished_at is None:
        return False
    previous = failed[-1]
    zone, _how = customer_zone(sub.billing_country, sub.phone, sub.plan.timezone)
    holidays = BankHolidays(sub.billing_country)
    customer, merchant = learned_for(sub, zone, holidays)
    slot = next_retry(
        RetrySettings.of(sub.plan),
        retries_done=sum(1 for a in failed if a.decline_class != declines.NETWORK and a.kind == "RETRY"),
        network_retries_done=sum(1 for a in failed if a.decline_class == declines.NETWORK and a.kind == "RETRY"),
        decline_class=previous.decline_class or declines.SOFT, decline_code=previous.decline_code,
        first_failed_at=invoice.first_failed_at, last_attempt_at=previous.finished_at, now=previous.finished_at,
        zone_name=zone, holidays=holidays, customer=customer, merchant=merchant,
    )
    if slot is None or slot.at == attempt.scheduled_at or slot.at < now + MIN_LEAD:
        return False
    log.info("attempt %s re-planned from %s to %s", attempt.id, attempt.scheduled_at, slot.at)
    attempt.scheduled_at, attempt.reason = slot.at, slot.reason + REPLANNED
    return True


def replan_retries(now: datetime | None = None, batch: int = BATCH) -> int:
    """Re-plan the SCHEDULED MI_OPTIMIZED retries due after ``now + MIN_LEAD`` from the
    payment history as it stands; returns how many moved. Claims them with ``FOR UPDATE
    SKIP LOCKED`` in id order (a retry tick running meanwhile keeps the ones it holds) and
    commits once per batch; idempotent."""
    now = now or utcnow()
    moved, after = 0, 0
    while True:
        rows = db.session.execute(
            select(PaymentAttempt)
            .where(PaymentAttempt.status == "SCHEDULED", PaymentAttempt.kind == "RETRY",
                   PaymentAttempt.strategy == "MI_OPTIMIZED", PaymentAttempt.scheduled_at > now + MIN_LEAD,
                   PaymentAttempt.id > after)
            .order_by(PaymentAttempt.id).limit(batch)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True)
        ).scalars().all()
        if not rows:
            return moved
        moved += sum(1 for attempt in rows if _replan(attempt, now))
        after = rows[-1].id
        db.session.commit()
