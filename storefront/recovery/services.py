"""The cart-save flow's rules over the database: the merchant's settings, starting an
attempt when a cart is ABANDONED, pausing it while the shopper is back, resuming it when
the cart is abandoned again within 7 days, and stopping it.

Run by the cron table (``storefront/cron.py``: ``recovery_lifecycle`` every minute) with
an injectable clock (``now=``). The database is the source of truth: every message is a
``CartIntervention`` row with its ``scheduled_at`` and the reason it was chosen.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.cart.services import cart_info
from storefront.extensions import db
from storefront.leads.consent import is_opted_out
from storefront.leads.models import Lead
from storefront.notifications.quiet_hours import SendingWindow, next_send_time
from storefront.recovery import stages as flow
from storefront.recovery.models import (
    ACTIVE,
    CANCELLED,
    CONVERTED,
    EXHAUSTED,
    EXPIRED,
    OPEN_ATTEMPT,
    PAUSED,
    PENDING,
    PENDING_INTERVENTION,
    QUEUED,
    SCHEDULED,
    CartIntervention,
    CartSaveAttempt,
    CartSaveConfig,
)
from storefront.recovery.stops import contact_phone
from storefront.types import new_token, utcnow

log = logging.getLogger(__name__)
BATCH = 500


# ----------------------------------------------------------------------------- settings


class Settings:
    """A merchant's flow as used: ``enabled``, normal-form ``stages`` and the sending
    ``window`` of texts and calls."""

    def __init__(self, enabled: bool, stages: list[dict], window: SendingWindow) -> None:
        self.enabled, self.stages, self.window = enabled, stages, window

    def stage(self, name: str) -> dict:
        return flow.stage_config(self.stages, name)


def settings_for(company_id: int) -> Settings:
    """The merchant's settings; the default flow (enabled) when it never saved any."""
    row = db.session.execute(select(CartSaveConfig).filter_by(company_id=company_id)).scalar_one_or_none()
    if row is None:
        return Settings(True, flow.default_stages(), SendingWindow())
    try:
        stages = flow.validate_stages(row.stages or [])
    except flow.StageConfigError:  # written by hand around the service: fall back, loudly
        log.error("company %s: stored recovery stages are invalid; using the defaults", company_id)
        stages = flow.default_stages()
    try:
        window = SendingWindow.parse(row.window_start, row.window_end)
    except ValueError:
        window = SendingWindow()
    return Settings(row.enabled, stages, window)


def save_settings(company_id: int, *, enabled: bool, stages: list[dict], window_start: str,
                  window_end: str) -> CartSaveConfig:
    """Validate and store a merchant's settings, then commit. Raises
    stages.StageConfigError (field errors keyed "<STAGE>.<field>", plus "window") before
    anything is written. Attempts already scheduled keep their times."""
    clean = flow.validate_stages(stages)
    try:
        SendingWindow.parse(window_start, window_end)
    except ValueError as error:
        raise flow.StageConfigError({"window": str(error)}) from error
    row = db.session.execute(select(CartSaveConfig).filter_by(company_id=company_id)
                             .with_for_update()).scalar_one_or_none()
    if row is None:
        row = CartSaveConfig(company_id=company_id)
        db.session.add(row)
    row.enabled, row.stages = enabled, clean
    row.window_start, row.window_end = window_start.strip(), window_end.strip()
    db.session.commit()
    return row


# ----------------------------------------------------------------------------- attempts


def history(attempt: CartSaveAttempt, event: str, now: datetime, stage: str | None = None, detail: str = "") -> None:
    """Append one entry to the attempt's ``stage_history`` (a new list, so JSON columns see
    the change)."""
    attempt.stage_history = [*(attempt.stage_history or []),
                             {"at": now.isoformat(), "event": event, "stage": stage, "detail": detail[:300]}]


def _startable(now: datetime):
    """ABANDONED carts with no open attempt and none started in the last 7 days."""
    recent = exists().where(CartSaveAttempt.cart_id == Cart.id,
                            or_(CartSaveAttempt.status.in_(OPEN_ATTEMPT),
                                CartSaveAttempt.started_at > now - timedelta(days=flow.RESUME_DAYS)))
    return (select(Cart).where(Cart.status == "ABANDONED", ~recent).order_by(Cart.id).limit(BATCH)
            .with_for_update(skip_locked=True, of=Cart))


def start_attempts(now: datetime | None = None) -> int:
    """Start an attempt for every ABANDONED cart that has none running (and none started in
    the last 7 days), at merchants whose flow is on, unless its shopper chose "Don't save
    my details" at checkout; returns how many started. Commits.

    The attempt's plan (``stages.plan``) counts from the cart's ``updated_at`` (the
    shopper's last change, kept by the abandonment job). Carts are locked with SKIP LOCKED,
    so two ticks at once start each attempt once."""
    now = now or utcnow()
    carts = db.session.execute(_startable(now)).scalars().all()
    started = 0
    settings: dict[int, Settings] = {}
    for cart in carts:
        if cart.company_id not in settings:
            settings[cart.company_id] = settings_for(cart.company_id)
        # "Don't save my details" at checkout: the shopper is not contacted.
        if settings[cart.company_id].enabled and not is_opted_out(cart):
            _start(cart, settings[cart.company_id], now)
            started += 1
    db.session.commit()
    return started


def _contacts(cart: Cart) -> tuple[str | None, str | None]:
    fields = cart.checkout_fields or {}
    email = (fields.get("email") or "").strip().lower() or None
    return email, contact_phone(fields.get("phone"), fields.get("country"))


def _start(cart: Cart, settings: Settings, now: datetime, attempt: CartSaveAttempt | None = None) -> CartSaveAttempt:
    """Start the flow for ``cart``: a new attempt, or ``attempt``, the PENDING one a
    real-time save made on checkout (``settle_pending``), which becomes ACTIVE."""
    email, phone = _contacts(cart)
    lead = db.session.execute(select(Lead).where(Lead.cart_id == cart.id, Lead.erased_at.is_(None))
                              .order_by(Lead.id.desc()).limit(1)).scalar_one_or_none()
    info = cart_info(cart, cart.currency)
    company = db.session.get(Company, cart.company_id)
    values = dict(
        company_id=cart.company_id, cart_id=cart.id, lead_id=lead.id if lead else None,
        customer_id=lead.customer_id if lead else None, email=email, phone=phone, status=ACTIVE,
        reason=(lead.abandonment_reason if lead else None) or "UNKNOWN",
        # leads keep the risk as 0..1; the attempt shows it as 0-100
        risk_score=max(0, min(100, round((lead.abandonment_risk or 0) * 100))) if lead else 0,
        cart_value_cents=info.subtotal_cents, currency=cart.currency, last_activity_at=cart.updated_at,
        started_at=now)
    if attempt is None:
        attempt = CartSaveAttempt(**values, stage_history=[])
        db.session.add(attempt)
    else:
        values["risk_score"] = max(values["risk_score"], attempt.risk_score or 0)
        for key, value in values.items():
            setattr(attempt, key, value)
        attempt.current_stage = None
    history(attempt, "STARTED", now, detail="the cart was abandoned")
    history(attempt, "DIAGNOSED", now, flow.DIAGNOSIS, f"abandonment reason {attempt.reason}")
    _schedule(attempt, settings, now, company.timezone if company else "UTC")
    return attempt


def _schedule(attempt: CartSaveAttempt, settings: Settings, now: datetime, zone: str,
              only: set[str] | None = None) -> list[CartIntervention]:
    planned, skipped = flow.plan(settings.stages, attempt.last_activity_at, now, cart_cents=attempt.cart_value_cents,
                                 email=attempt.email, phone=attempt.phone, window=settings.window,
                                 fallback_zone=zone)
    for step in skipped:
        history(attempt, "SKIPPED", now, step.stage, step.reason)
    made = []
    for step in planned:
        if only is not None and step.stage not in only:
            continue
        made.append(CartIntervention(
            company_id=attempt.company_id, attempt=attempt, stage=step.stage, channel=step.channel, type=step.type,
            angle=attempt.reason, offer_percent=step.offer_percent, status=SCHEDULED, token=new_token(),
            scheduled_at=step.at, schedule_reason=step.reason, created_at=now, updated_at=now,
            provider_response={"offer_hours": step.offer_hours} if step.offer_hours else {}))
    db.session.add_all(made)
    attempt.scheduled_at = min((i.scheduled_at for i in made), default=None)
    if not made and only is None:
        finish_attempt(attempt, EXHAUSTED, now, "no stage applies to this cart")
    return made


def finish_attempt(attempt: CartSaveAttempt, status: str, now: datetime, why: str) -> int:
    """End ``attempt`` as CONVERTED, EXHAUSTED or EXPIRED and cancel its pending messages
    with ``why``; returns how many were cancelled. A finished attempt stays as it is (the
    first ending wins). Does not commit."""
    if attempt.status not in OPEN_ATTEMPT:
        return 0
    attempt.status, attempt.completed_at, attempt.scheduled_at = status, now, None
    history(attempt, status, now, detail=why)
    return cancel_pending(attempt.id, why, now)


def cancel_pending(attempt_id: int, why: str, now: datetime, channel: str | None = None) -> int:
    """CANCEL the attempt's pending (SCHEDULED, QUEUED, PAUSED) messages, optionally only
    those of ``channel``, with ``why``; returns how many. Does not commit."""
    query = (update(CartIntervention)
             .where(CartIntervention.attempt_id == attempt_id, CartIntervention.status.in_(PENDING_INTERVENTION))
             .values(status=CANCELLED, status_reason=why[:500], updated_at=now)
             .execution_options(synchronize_session=False))
    if channel:
        query = query.where(CartIntervention.channel == channel)
    return db.session.execute(query).rowcount


def pause_returning(now: datetime | None = None) -> int:
    """Pause the running attempts whose cart is in use again (ACTIVE): their SCHEDULED and
    QUEUED messages become PAUSED. Returns how many attempts. Commits."""
    now = now or utcnow()
    attempts = db.session.execute(
        select(CartSaveAttempt).join(Cart, Cart.id == CartSaveAttempt.cart_id)
        .where(CartSaveAttempt.status == ACTIVE, CartSaveAttempt.paused_at.is_(None), Cart.status == "ACTIVE")
        .order_by(CartSaveAttempt.id).limit(BATCH).with_for_update(skip_locked=True, of=CartSaveAttempt)
    ).scalars().all()
    for attempt in attempts:
        pause(attempt, now)
    db.session.commit()
    return len(attempts)


def pause(attempt: CartSaveAttempt, now: datetime) -> None:
    """Pause ``attempt``: its pending messages wait. Does not commit."""
    attempt.paused_at = now
    attempt.scheduled_at = None
    history(attempt, "PAUSED", now, detail="the shopper is back on the cart")
    db.session.execute(
        update(CartIntervention)
        .where(CartIntervention.attempt_id == attempt.id, CartIntervention.status.in_((SCHEDULED, QUEUED)))
        .values(status=PAUSED, status_reason="paused: the shopper is back on the cart", updated_at=now)
        .execution_options(synchronize_session=False))


def resume_or_expire(now: datetime | None = None) -> int:
    """Paused attempts: a cart abandoned again within 7 days of the pause resumes at its next
    stage, with the same codes, every delay counted from the new last activity; a pause
    over 7 days (cart abandoned again or not) EXPIRES the attempt, so a new one may start.
    Also ends attempts whose cart was merged, expired or converted meanwhile. Returns how
    many attempts changed. Commits."""
    now = now or utcnow()
    rows = db.session.execute(
        select(CartSaveAttempt, Cart).join(Cart, Cart.id == CartSaveAttempt.cart_id)
        .where(CartSaveAttempt.status == ACTIVE,
               or_(and_(CartSaveAttempt.paused_at.is_not(None), Cart.status != "ACTIVE"),
                   CartSaveAttempt.paused_at < now - timedelta(days=flow.RESUME_DAYS),
                   Cart.status.in_(("MERGED", "EXPIRED", "CONVERTED"))))
        .order_by(CartSaveAttempt.id).limit(BATCH).with_for_update(skip_locked=True, of=CartSaveAttempt)
    ).all()
    for attempt, cart in rows:
        if cart.status == "CONVERTED":
            finish_attempt(attempt, CONVERTED, now, "the cart was ordered")
        elif cart.status in ("MERGED", "EXPIRED"):
            finish_attempt(attempt, EXPIRED, now, f"the cart was {cart.status.lower()}")
        elif attempt.paused_at < now - timedelta(days=flow.RESUME_DAYS):
            finish_attempt(attempt, EXPIRED, now, "paused for over 7 days")
        else:
            resume(attempt, cart, now)
    db.session.commit()
    return len(rows)


def resume(attempt: CartSaveAttempt, cart: Cart, now: datetime) -> None:
    """Resume a paused attempt from the cart's new last activity: its PAUSED messages are
    scheduled again from ``cart.updated_at`` (codes already issued stay). Does not commit."""
    settings = settings_for(attempt.company_id)
    company = db.session.get(Company, attempt.company_id)
    attempt.paused_at, attempt.last_activity_at = None, cart.updated_at
    history(attempt, "RESUMED", now, detail="abandoned again within 7 days")
    paused = db.session.execute(select(CartIntervention).where(
        CartIntervention.attempt_id == attempt.id, CartIntervention.status == PAUSED)).scalars().all()
    for intervention in paused:
        stage = settings.stage(intervention.stage)
        at = attempt.last_activity_at + timedelta(minutes=stage["delay_minutes"])
        reason = f"resumed: {stage['delay_minutes']} min after the shopper's last activity"
        if intervention.channel in ("SMS", "VOICE") and attempt.phone:
            slot = next_send_time(attempt.phone, max(at, now), settings.window, company.timezone if company else "UTC")
            if slot.moved:
                at, reason = slot.at, f"{reason}; {slot.reason}"
        intervention.status, intervention.scheduled_at, intervention.schedule_reason = SCHEDULED, at, reason
        intervention.status_reason, intervention.updated_at = None, now
    attempt.scheduled_at = min((i.scheduled_at for i in paused), default=None)
    if not paused:
        finish_attempt(attempt, EXHAUSTED, now, "no message left to send")


BOUGHT, ABANDONED = "BOUGHT", "ABANDONED"  # what a shopper did after a real-time save


def save_result(intervention: CartIntervention, result: str, now: datetime) -> bool:
    """Record on a real-time save (``realtime``) what the shopper did next, BOUGHT or
    ABANDONED, once: False when it was already recorded. Does not commit."""
    data = dict(intervention.provider_response or {})
    if data.get("result"):
        return False
    data["result"], data["result_at"] = result, now.isoformat()
    intervention.provider_response = data
    return True


def settle_pending(now: datetime | None = None) -> int:
    """PENDING attempts (made by a real-time save on checkout, before any abandonment): a
    cart ABANDONED starts the flow on that attempt (ACTIVE, messages scheduled); a cart
    merged or expired, or ACTIVE and idle ``CART_ABANDON_MINUTES`` (no contact, so never
    marked abandoned), ends EXPIRED. Either way the save's result is ABANDONED. An ordered
    cart's attempt is CONVERTED by the order hook. Returns how many changed. Commits."""
    now = now or utcnow()
    idle = now - timedelta(minutes=int(current_app.config.get("CART_ABANDON_MINUTES", 20)))
    rows = db.session.execute(
        select(CartSaveAttempt, Cart).join(Cart, Cart.id == CartSaveAttempt.cart_id)
        .where(CartSaveAttempt.status == PENDING,
               or_(Cart.status.in_(("ABANDONED", "MERGED", "EXPIRED")),
                   and_(Cart.status == "ACTIVE", Cart.updated_at < idle)))
        .order_by(CartSaveAttempt.id).limit(BATCH).with_for_update(skip_locked=True, of=CartSaveAttempt)
        .execution_options(populate_existing=True)).all()  # the cart's status as the cart job left it
    for attempt, cart in rows:
        for intervention in attempt.interventions:
            if intervention.stage == flow.REALTIME:
                save_result(intervention, ABANDONED, now)
        settings = settings_for(cart.company_id)
        if cart.status == "ABANDONED" and settings.enabled and not is_opted_out(cart):
            _start(cart, settings, now, attempt)
        else:
            why = (f"the cart was {cart.status.lower()}" if cart.status != "ACTIVE"
                   else "the shopper left checkout with no contact to follow up")
            finish_attempt(attempt, EXPIRED, now, why)
    db.session.commit()
    return len(rows)


def lifecycle(now: datetime | None = None) -> int:
    """One lifecycle tick: pause, resume or expire, settle the attempts of real-time saves,
    then start. Returns the attempts changed."""
    now = now or utcnow()
    return pause_returning(now) + resume_or_expire(now) + settle_pending(now) + start_attempts(now)


def stop_by_merchant(attempt: CartSaveAttempt, user, now: datetime | None = None) -> int:
    """The merchant's "stop recovery" on a cart: the attempt EXPIRES with its pending
    messages cancelled; returns how many were cancelled. A finished attempt is left as it
    is (0). Commits."""
    now = now or utcnow()
    locked = db.session.execute(select(CartSaveAttempt).where(CartSaveAttempt.id == attempt.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    cancelled = finish_attempt(locked, EXPIRED, now, "stopped by the merchant")
    db.session.commit()
    return cancelled

