"""Delivery of recovery messages (issue "Delivery", ARCHITECTURE §5).

- ``claim_due`` (cron, every minute) takes due SCHEDULED rows on the indexed
  ``(status, scheduled_at)`` query with ``FOR UPDATE SKIP LOCKED``, marks them QUEUED and
  commits, then enqueues one RQ job per id (``deliver``). Rows QUEUED for over
  ``REQUEUE_MINUTES`` whose job was lost (Redis flushed or down) are enqueued again: the
  job is idempotent, so nothing is lost and nothing is sent twice.
- ``deliver`` checks the stop rules at send time (``stops``), issues the stage's code,
  marks the row SENDING and commits, then calls the channel under the key
  "recovery-<id>" (``notifications``: at most once). A send that stopped between SENDING
  and SENT ends UNKNOWN and is never re-sent automatically. Transient faults raise for
  ``rq.Retry``; quiet hours move the row to the next window.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq import Retry, get_current_job
from sqlalchemy import func, select, update

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.leads.activities import record_activity
from storefront.leads.models import Lead
from storefront.leads.status import system_transition
from storefront.notifications import records
from storefront.notifications.email import send_templated_email
from storefront.notifications.quiet_hours import OutsideSendingWindow
from storefront.notifications.sms import send_sms
from storefront.notifications.voice import place_call
from storefront.queue import enqueue_many
from storefront.recovery import messages, offers, stops
from storefront.recovery.models import (
    ACTIVE,
    CANCELLED,
    EXHAUSTED,
    FAILED,
    OPENED,
    PAUSED,
    PENDING_INTERVENTION,
    QUEUED,
    SCHEDULED,
    SENDING,
    SENT,
    UNKNOWN,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.recovery.services import (
    cancel_pending,
    finish_attempt,
    history,
    pause,
    settings_for,
)
from storefront.types import utcnow

log = logging.getLogger(__name__)
CLAIM_BATCH = 2000
REQUEUE_MINUTES = 10
UNKNOWN_AFTER_MINUTES = 15
RETRY_INTERVALS = [60, 300, 900]  # seconds: rq.Retry for transient faults (SMTP 4xx, Twilio 5xx)
TRANSIENT_DELAY = timedelta(minutes=5)  # without a worker (no Redis) a transient fault waits for a tick
GATHER_HOOK = "recovery"
LEAD_ACTIVITY = {"EMAIL": "EMAIL_SENT", "SMS": "SMS_SENT", "VOICE": "CALL_MADE"}


def message_key(intervention_id: int) -> str:
    """The notifications key a recovery message is sent under."""
    return f"recovery-{intervention_id}"


def claim_due(now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[int]:
    """Claim due messages and enqueue one ``deliver`` job per id; returns the ids claimed.

    Due: SCHEDULED with ``scheduled_at <= now``, or QUEUED since before ``now`` minus
    REQUEUE_MINUTES (its job was lost). Claimed rows are QUEUED with ``queued_at = now``
    and committed before any job is enqueued, so two ticks at once never claim one row
    twice (SKIP LOCKED), and Redis down loses nothing (the rows stay in the database).
    An injected ``now`` (tests moving time forward) is passed on to the jobs; otherwise
    each job reads the clock when it runs.
    """
    clock = now
    now = now or utcnow()
    due = db.session.execute(
        select(CartIntervention.id).where(CartIntervention.status == SCHEDULED, CartIntervention.scheduled_at <= now)
        .order_by(CartIntervention.scheduled_at).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    stale = db.session.execute(
        select(CartIntervention.id).where(CartIntervention.status == QUEUED,
                                          CartIntervention.queued_at < now - timedelta(minutes=REQUEUE_MINUTES))
        .order_by(CartIntervention.queued_at).limit(limit).with_for_update(skip_locked=True)).scalars().all()
    ids = [*due, *stale]
    if ids:
        db.session.execute(update(CartIntervention).where(CartIntervention.id.in_(ids))
                           .values(status=QUEUED, queued_at=now, updated_at=now)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    if ids:
        enqueue_many(deliver, [(intervention_id, clock) for intervention_id in ids],
                     retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
    return ids


def _apply_decision(intervention: CartIntervention, attempt: CartSaveAttempt, decision: stops.Decision,
                    now: datetime) -> None:
    if decision.action == stops.STOP_ATTEMPT:
        if decision.attempt_status == "CONVERTED":
            order = stops.order_since(attempt)
            if order is not None:
                attempt.order_id, attempt.recovered_cents = order.id, order.amount_paid_cents
        finish_attempt(attempt, decision.attempt_status, now, decision.reason)
        intervention.status, intervention.status_reason = CANCELLED, decision.reason
    elif decision.action == stops.PAUSE:
        pause(attempt, now)
        db.session.refresh(intervention)
    elif decision.action == stops.CANCEL_ONE:
        # An unsubscribe or a STOP holds for every later message of that channel.
        intervention.status, intervention.status_reason = CANCELLED, decision.reason
        cancel_pending(attempt.id, decision.reason, now, channel=intervention.channel)
    intervention.updated_at = now
    _close_if_done(attempt, now)


def _close_if_done(attempt: CartSaveAttempt, now: datetime) -> None:
    """An attempt with nothing left to send (no SCHEDULED, QUEUED or PAUSED message) is
    EXHAUSTED."""
    if attempt.status != ACTIVE:
        return
    db.session.flush()
    left = db.session.execute(select(func.count(CartIntervention.id)).where(
        CartIntervention.attempt_id == attempt.id, CartIntervention.status.in_(PENDING_INTERVENTION))).scalar_one()
    if left == 0:
        finish_attempt(attempt, EXHAUSTED, now, "every stage has run")
    else:
        attempt.scheduled_at = db.session.execute(select(func.min(CartIntervention.scheduled_at)).where(
            CartIntervention.attempt_id == attempt.id, CartIntervention.status == SCHEDULED)).scalar_one()


def _locked(intervention_id: int) -> CartIntervention | None:
    """The row, locked and read afresh (set-based updates do not touch loaded objects)."""
    return db.session.execute(select(CartIntervention).where(CartIntervention.id == intervention_id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def deliver(intervention_id: int, now: datetime | None = None) -> str:
    """The RQ job: send one recovery message at most once; returns its status after.

    Idempotent: only a QUEUED row is worked on (a repeat finds it SENT, CANCELLED...); a
    row left SENDING by a killed worker is settled from the notifications record (SENT if
    the provider's answer was recorded, else UNKNOWN, never re-sent). Raises
    records.TransientSendError under RQ when the provider could not take the message now
    (the row stays QUEUED, and rq.Retry runs the job again; the same key then sends).
    """
    now = now or utcnow()
    intervention = _locked(intervention_id)
    if intervention is None:
        return "MISSING"
    if intervention.status == SENDING:
        status = settle_sending(intervention, now)
        db.session.commit()
        return status
    if intervention.status != QUEUED:
        db.session.rollback()
        return intervention.status
    attempt = db.session.get(CartSaveAttempt, intervention.attempt_id, populate_existing=True)
    cart = db.session.get(Cart, attempt.cart_id, populate_existing=True)
    company = db.session.get(Company, attempt.company_id)
    decision = stops.decide(stops.facts_for(intervention, attempt, cart))
    if decision.action != stops.SEND:
        _apply_decision(intervention, attempt, decision, now)
        db.session.commit()
        return intervention.status
    if intervention.offer_percent and not intervention.offer_code:
        expires = offers.expiry_after(now, int((intervention.provider_response or {}).get("offer_hours") or 0))
        db.session.commit()  # release the row lock: issuing the code commits on its own
        code = offers.issue_code(company.id, intervention.offer_percent, expires)
        intervention = _locked(intervention_id)
        if intervention.status != QUEUED:
            db.session.rollback()
            return intervention.status
        intervention.offer_code, intervention.offer_expires_at = code.code, expires
    content = messages.compose(intervention, cart, company, attempt.email)
    if content is None:
        intervention.status, intervention.status_reason = CANCELLED, "nothing in the cart is in stock"
        _close_if_done(attempt, now)
        db.session.commit()
        return intervention.status
    intervention.status, intervention.message_key, intervention.updated_at = SENDING, message_key(intervention.id), now
    if content.left_out:
        intervention.provider_response = {**(intervention.provider_response or {}), "left_out": content.left_out}
    db.session.commit()  # SENDING is on record before any provider is called
    return _send(intervention, attempt, company, content, now)


def _send(intervention: CartIntervention, attempt: CartSaveAttempt, company: Company, content: messages.Content,
          now: datetime) -> str:
    settings = settings_for(company.id)
    key = intervention.message_key
    try:
        if intervention.channel == "EMAIL":
            message = send_templated_email(company.id, key, attempt.email, content.subject, "emails/recovery",
                                           content.context,
                                           unsubscribe_url=messages.unsubscribe_for(company.id, attempt.email),
                                           from_name=company.name, reply_to=company.support_email)
        elif intervention.channel == "SMS":
            message = send_sms(company.id, key, attempt.phone, content.text, now=now, window=settings.window,
                               fallback_zone=company.timezone or "UTC")
        else:
            message = place_call(company.id, key, attempt.phone, content.script, content.prompt, hook=GATHER_HOOK,
                                 now=now, window=settings.window, fallback_zone=company.timezone or "UTC")
    except OutsideSendingWindow as moved:
        _reload(intervention)
        intervention.status, intervention.scheduled_at = SCHEDULED, moved.slot.at
        intervention.schedule_reason = moved.slot.reason[:500]
        db.session.commit()
        return intervention.status
    except records.TransientSendError as fault:
        _reload(intervention)
        if get_current_job() is not None:
            intervention.status, intervention.status_reason = QUEUED, f"will retry: {fault}"[:500]
            db.session.commit()
            raise
        intervention.status, intervention.scheduled_at = SCHEDULED, now + TRANSIENT_DELAY
        intervention.schedule_reason = f"retry after a transient fault: {fault}"[:500]
        db.session.commit()
        return intervention.status
    _reload(intervention)
    status = mirror(intervention, message, now)
    db.session.commit()
    return status


def _reload(intervention: CartIntervention) -> None:
    db.session.refresh(intervention, with_for_update=True)


def mirror(intervention: CartIntervention, message, now: datetime) -> str:
    """Copy the outcome of the notifications record onto ``intervention`` (SENT, FAILED or
    UNKNOWN) and, once sent, onto its attempt and lead. Does not commit."""
    intervention.provider_response = {**(intervention.provider_response or {}), "message_id": message.id,
                                      "status": message.status, "provider_id": message.provider_id,
                                      "error": message.error}
    attempt = intervention.attempt
    if message.status in (records.SENT, records.DELIVERED, records.COMPLETED, records.NO_ANSWER, records.BUSY,
                          records.UNDELIVERED):
        intervention.status, intervention.sent_at = SENT, message.sent_at or now
        if intervention.opened_at is not None:  # opened before the answer was recorded (tracking)
            intervention.status = OPENED
        attempt.current_stage = intervention.stage
        history(attempt, "SENT", now, intervention.stage, f"{intervention.channel} sent")
        _tell_lead(attempt, intervention, now)
    elif message.status == records.FAILED:
        intervention.status, intervention.status_reason = FAILED, (message.error or "failed")[:500]
        history(attempt, "FAILED", now, intervention.stage, message.error or "")
    elif message.status == records.UNKNOWN:
        intervention.status = UNKNOWN
        intervention.status_reason = "the send stopped before its outcome was recorded; not re-sent"
    else:  # still SENDING elsewhere
        return intervention.status
    intervention.updated_at = now
    _close_if_done(attempt, now)
    return intervention.status


def _tell_lead(attempt: CartSaveAttempt, intervention: CartIntervention, now: datetime) -> None:
    lead = db.session.get(Lead, attempt.lead_id) if attempt.lead_id else None
    if lead is None or lead.erased_at is not None:
        return
    record_activity(lead, LEAD_ACTIVITY[intervention.channel],
                    {"intervention_id": intervention.id, "stage": intervention.stage}, at=now)
    if lead.status == "NEW":
        system_transition(lead, "CONTACTED", "first recovery message sent")


def settle_sending(intervention: CartIntervention, now: datetime) -> str:
    """A row left SENDING (its worker stopped): the notifications record decides. Sent:
    SENT. Failed: FAILED. Anything else, or no record: UNKNOWN, never re-sent (the provider
    may have the message). Does not commit."""
    message = records.message_by_key(intervention.message_key or message_key(intervention.id))
    if message is None or message.status in (records.SENDING, records.UNKNOWN, records.DEFERRED):
        intervention.status, intervention.updated_at = UNKNOWN, now
        intervention.status_reason = "the send stopped before its outcome was recorded; not re-sent"
        _close_if_done(intervention.attempt, now)
        return UNKNOWN
    return mirror(intervention, message, now)


def sweep_stuck(now: datetime | None = None) -> int:
    """Settle rows SENDING for over UNKNOWN_AFTER_MINUTES (a worker killed mid-send);
    returns how many. Commits."""
    now = now or utcnow()
    rows = db.session.execute(select(CartIntervention).where(
        CartIntervention.status == SENDING,
        CartIntervention.updated_at < now - timedelta(minutes=UNKNOWN_AFTER_MINUTES))
        .limit(CLAIM_BATCH).with_for_update(skip_locked=True)).scalars().all()
    for intervention in rows:
        settle_sending(intervention, now)
    db.session.commit()
    return len(rows)


def tick(now: datetime | None = None) -> int:
    """The delivery tick: settle stuck sends, then claim and enqueue what is due. Returns
    how many messages were claimed."""
    sweep_stuck(now)
    return len(claim_due(now))


def send_now(attempt: CartSaveAttempt, intervention_id: int, now: datetime | None = None) -> CartIntervention | None:
    """The merchant's "send now" on one pending (SCHEDULED or PAUSED) message of a running
    attempt: it is claimed (QUEUED) and its job enqueued at once; the stop rules, consent
    and quiet hours still apply when it is sent. Returns the message, or None when it is
    not this attempt's or not pending. Commits."""
    now = now or utcnow()
    intervention = db.session.execute(
        select(CartIntervention).where(CartIntervention.id == intervention_id,
                                       CartIntervention.attempt_id == attempt.id,
                                       CartIntervention.status.in_((SCHEDULED, PAUSED)))
        .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if intervention is None or attempt.status != ACTIVE:
        db.session.rollback()
        return None
    intervention.status, intervention.queued_at, intervention.updated_at = QUEUED, now, now
    intervention.scheduled_at, intervention.schedule_reason = now, "sent now by the merchant"
    db.session.commit()
    enqueue_many(deliver, [(intervention.id, None)])
    return intervention
