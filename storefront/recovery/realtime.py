"""The REALTIME stage (issue 11, §6): while the shopper is on checkout, a high churn risk
(``recovery.churn``) gets one in-page save, recorded as a REALTIME ``CartIntervention``
with its outcome.

The save is decided when checkout asks for it (``offer_save``): by the page's htmx poll
(``GET /checkout/save``), by the first Back on a phone (``static/js/checkout-save.js``), or
on a full load of the checkout page (JavaScript off), never on the field-capture path. It shows at most once per cart,
from the merchant's ``threshold`` (REALTIME stage settings, ``stages.DEFAULT_STAGES``;
off: no save). Which save is the merchant's ``save`` setting (``choose_kind``): one of the
four kinds below always, or AUTO, the rule:

- PAYMENT: when idling on the card is the largest part of the risk, help with paying
  (another card; the shopper's details are kept) — a discount does not fix a card form;
- OFFER: otherwise, with the stage's ``offer_percent`` above 0, a unique single-use code
  (``offers.issue_code``, pricing's one generator) that "Apply" puts on the cart;
- REASSURANCE: otherwise, the shop's reassurance (secure payment, details kept; the
  merchant's ``text`` when given).

HELP (only when chosen) shows the merchant's help text. The text shown is kept on the
intervention (``provider_response["text"]``), so a later edit does not change a save shown.

Bookkeeping. The save hangs on a new PENDING attempt (an attempt before abandonment); a
cart whose flow is already running (the shopper came back through a message) gets none. The intervention is SENT (shown, ``sent_at``); "Apply"/"Continue"
makes it CLICKED (``clicked_at``), "No thanks" leaves it SENT; both are kept in
``provider_response["response"]`` (ACCEPTED or IGNORED) and a replayed answer changes
nothing. What happened next is ``provider_response["result"]``, set once:

- BOUGHT, by the order hook (``restore.order_placed`` converts the attempt, makes an
  accepted save EXECUTED with the order, and calls ``mark_bought``);
- ABANDONED, by the lifecycle tick (``services.settle_pending``) when the cart is abandoned, merged
  or expired, or has stood idle ``CART_ABANDON_MINUTES`` without a contact to reach (such a
  cart is never marked ABANDONED, so its PENDING attempt ends EXPIRED). An abandoned cart's
  PENDING attempt becomes the running attempt of the flow, with its messages scheduled.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from storefront.cart.models import Cart
from storefront.cart.services import cart_info, touch
from storefront.extensions import db
from storefront.leads.consent import is_opted_out
from storefront.leads.models import FieldEvent
from storefront.pricing.codes import PromotionCodeError, find_code
from storefront.recovery import churn, offers
from storefront.recovery import stages as flow
from storefront.recovery.models import (
    CLICKED,
    OPEN_ATTEMPT,
    PENDING,
    SENT,
    CartIntervention,
    CartSaveAttempt,
)
from storefront.recovery.services import BOUGHT, history, save_result, settings_for
from storefront.types import new_token, utcnow

OFFER, PAYMENT, REASSURANCE, HELP = flow.SAVE_OFFER, flow.SAVE_PAYMENT, flow.SAVE_REASSURANCE, flow.SAVE_HELP
ACCEPTED, IGNORED = "ACCEPTED", "IGNORED"
MAX_EVENTS = 2000  # a checkout's events; the score saturates long before


@dataclass(frozen=True)
class Save:
    """What the checkout shows: the intervention ``id``, ``kind`` (OFFER, PAYMENT,
    REASSURANCE, HELP), the ``code`` and ``percent`` of an offer (None/0 otherwise),
    ``response`` (None until answered, then ACCEPTED or IGNORED) and the merchant's
    ``text`` ("" for the shop's own words; plain text, escaped when rendered)."""

    id: int
    kind: str
    code: str | None
    percent: int
    response: str | None
    text: str = ""

    @classmethod
    def of(cls, intervention: CartIntervention) -> Save:
        data = intervention.provider_response or {}
        return cls(intervention.id, data.get("kind", REASSURANCE), intervention.offer_code,
                   intervention.offer_percent or 0, data.get("response"), data.get("text") or "")


def choose_kind(stage: dict, risk: churn.ChurnRisk) -> str:
    """The save to show for the REALTIME ``stage`` settings (normal form) and ``risk``: the
    merchant's ``save`` when it is not AUTO; AUTO: PAYMENT when idling on the card is the
    largest part of the risk, else OFFER with an ``offer_percent`` above 0, else
    REASSURANCE (the module docstring says why)."""
    if stage["save"] != flow.SAVE_AUTO:
        return stage["save"]
    if risk.friction == churn.PAYMENT:
        return PAYMENT
    return OFFER if stage["offer_percent"] else REASSURANCE


def find_save(cart: Cart, lock: bool = False) -> CartIntervention | None:
    """The REALTIME intervention of ``cart`` (at most one per cart), or None."""
    query = (select(CartIntervention).join(CartSaveAttempt, CartSaveAttempt.id == CartIntervention.attempt_id)
             .where(CartSaveAttempt.cart_id == cart.id, CartSaveAttempt.company_id == cart.company_id,
                    CartIntervention.stage == flow.REALTIME)
             .order_by(CartIntervention.id).limit(1))
    if lock:
        query = query.with_for_update(of=CartIntervention)
    return db.session.execute(query).scalar_one_or_none()


def _running(cart: Cart) -> bool:
    """True when the cart already has an open attempt (its flow runs or waits)."""
    return db.session.execute(select(CartSaveAttempt.id).where(
        CartSaveAttempt.cart_id == cart.id, CartSaveAttempt.status.in_(OPEN_ATTEMPT)).limit(1)).first() is not None


def checkout_risk(cart: Cart, now: datetime, back: bool = False) -> churn.ChurnRisk:
    """The churn risk of the shopper on ``cart``'s checkout, from the field events of its
    visit (on ``ix_field_events_visit_time``) since checkout started. One SELECT. ``back``:
    the shopper pressed Back on a phone, which is the phone's exit intent (no pointer leaves
    through the top of a phone's window)."""
    if cart.visit_id is None:
        return churn.churn_risk(churn.ChurnSignals(exit_intent=back))
    query = (select(FieldEvent.event_type, FieldEvent.field_group, FieldEvent.focus_ms, FieldEvent.occurred_at)
             .where(FieldEvent.visit_id == cart.visit_id, FieldEvent.cart_id == cart.id))
    if cart.checkout_started_at is not None:
        query = query.where(FieldEvent.occurred_at >= cart.checkout_started_at)
    rows = db.session.execute(query.order_by(FieldEvent.occurred_at).limit(MAX_EVENTS)).all()
    events = [churn.Event(kind, group, focus, at) for kind, group, focus, at in rows]
    signals = churn.signals_from_events(events, now)
    return churn.churn_risk(replace(signals, exit_intent=True) if back else signals)


def offer_save(cart: Cart, now: datetime | None = None, threshold: int | None = None,
               back: bool = False) -> Save | None:
    """The save to show the shopper of ``cart`` now, deciding it when there is none yet;
    None when nothing is to be shown.

    Shown: a save already made for this cart and not yet answered. Made (commits): when the
    merchant's flow and its REALTIME stage are on, the visit did not opt out of capture,
    the cart is worth the stage's ``min_cart_cents`` and the risk reaches ``threshold``
    (None: the merchant's, 1–100), or
    ``back``: the phone's Back button on checkout shows the save whatever the score (the
    issue's Back-button retention; the score, with Back as exit intent, is still recorded).
    The cart row is locked before the save is written, so two polls at once make one."""
    return decide(cart, now, threshold, back)[0]


def decide(cart: Cart, now: datetime | None = None, threshold: int | None = None,
           back: bool = False) -> tuple[Save | None, bool]:
    """``offer_save``, and whether the page may stop asking (``done``): the cart had its
    save (shown, answered or not), or gets none (flow or stage off, capture opted out, the
    flow already running for it)."""
    now = now or utcnow()
    existing = find_save(cart)
    if existing is not None:
        save = Save.of(existing)
        return (save if save.response is None and existing.status == SENT else None), True
    # The score first: most polls (a calm shopper scores 0, below any threshold) end here,
    # after two SELECTs.
    risk = checkout_risk(cart, now, back)
    if not (back or risk.score > 0):
        return None, False
    settings = settings_for(cart.company_id)
    stage = settings.stage(flow.REALTIME)
    if not settings.enabled or not stage["enabled"]:
        return None, True
    if not (back or risk.is_high(stage["threshold"] if threshold is None else threshold)):
        return None, False
    if is_opted_out(cart) or _running(cart):
        return None, True
    value_cents = cart_info(cart, cart.currency).subtotal_cents
    if value_cents < stage["min_cart_cents"]:
        return None, False
    kind = choose_kind(stage, risk)
    code = None
    if kind == OFFER:
        # Issued first (it commits); a race lost below leaves one unused single-use code.
        code = offers.issue_code(cart.company_id, stage["offer_percent"],
                                 offers.expiry_after(now, stage["offer_hours"])).code
    db.session.execute(select(Cart.id).where(Cart.id == cart.id).with_for_update())
    if find_save(cart) is not None:  # another poll made it meanwhile
        db.session.rollback()
        return None, True
    fields = cart.checkout_fields or {}
    attempt = CartSaveAttempt(
        company_id=cart.company_id, cart_id=cart.id, status=PENDING, current_stage=flow.REALTIME,
        email=(fields.get("email") or "").strip().lower() or None, risk_score=risk.score,
        cart_value_cents=value_cents, currency=cart.currency, last_activity_at=cart.updated_at or now,
        started_at=now, stage_history=[], reason="UNKNOWN")
    intervention = CartIntervention(
        company_id=cart.company_id, attempt=attempt, stage=flow.REALTIME, channel="PAGE", type="REALTIME",
        angle=risk.friction, offer_code=code, offer_percent=stage["offer_percent"] if code else 0,
        status=SENT, token=new_token(), scheduled_at=now, sent_at=now, created_at=now, updated_at=now,
        schedule_reason=f"churn risk {risk.score} of 100 at checkout ({risk.reasons_text()})",
        provider_response={"kind": kind, "text": stage["text"] if kind in (HELP, REASSURANCE) else "",
                           "threshold": stage["threshold"] if threshold is None else threshold, "risk": risk.score, "parts": dict(risk.parts), "response": None,
                           "result": None, "trigger": "BACK" if back else "RISK"})
    db.session.add(intervention)
    history(attempt, "REALTIME", now, flow.REALTIME, f"in-page save shown ({kind.lower()}), risk {risk.score}")
    db.session.commit()
    return Save.of(intervention), True


class NotYours(LookupError):
    """No save of that id on the shopper's cart (another cart's or merchant's, or none)."""


@dataclass(frozen=True)
class Answer:
    """The save after the shopper's answer; ``changed`` False for a replay, ``note`` what
    to tell the shopper."""

    save: Save
    changed: bool
    note: str


def answer(cart: Cart, intervention_id: int, accept: bool, now: datetime | None = None) -> Answer:
    """Record the shopper's answer to the save ``intervention_id`` of ``cart``: ACCEPTED
    (CLICKED; an offer's code goes on the cart when it still applies) or IGNORED. The first
    answer wins: a replay, or the other answer afterwards, changes nothing. Commits.

    Raises NotYours when ``cart`` has no save of that id (another cart's or merchant's)."""
    now = now or utcnow()
    intervention = find_save(cart, lock=True)
    if intervention is None or intervention.id != intervention_id:
        db.session.rollback()
        raise NotYours(intervention_id)
    data = dict(intervention.provider_response or {})
    if data.get("response"):
        db.session.rollback()
        return Answer(Save.of(intervention), False, "")
    data["response"], data["answered_at"] = (ACCEPTED if accept else IGNORED), now.isoformat()
    note = "Thanks, we'll keep your details while you finish."
    if accept:
        intervention.status, intervention.clicked_at = CLICKED, now
        if intervention.offer_code:
            try:
                find_code(cart.company_id, intervention.offer_code, now)
                cart.promotion_code = intervention.offer_code
                touch(cart)
                note = f"Code {intervention.offer_code} is applied to your order."
            except PromotionCodeError as error:
                note = f"The code {intervention.offer_code} no longer applies: {error}"
    intervention.provider_response, intervention.updated_at = data, now
    history(intervention.attempt, ACCEPTED if accept else IGNORED, now, flow.REALTIME, "in-page save answered")
    db.session.commit()
    return Answer(Save.of(intervention), True, note)


# ----------------------------------------------------------------------------- outcomes


def mark_bought(attempts: list[CartSaveAttempt], order, now: datetime) -> None:
    """Part of checkout's ``order_completed`` (``restore.order_placed``, which found the
    PENDING ``attempts`` the order converts): their saves, with no outcome yet, are BOUGHT
    with ``order``. Does not commit."""
    rows = db.session.execute(select(CartIntervention).where(
        CartIntervention.attempt_id.in_([attempt.id for attempt in attempts]),
        CartIntervention.stage == flow.REALTIME).order_by(CartIntervention.id).with_for_update()).scalars().all()
    for intervention in rows:
        # order_id stays for the clicked-link rule that follows (an accepted save EXECUTED)
        if save_result(intervention, BOUGHT, now):
            intervention.provider_response = {**intervention.provider_response, "order_id": order.id}
