"""Abandonment analysis: why a lead (or a visit with a cart but no lead) stopped.

A periodic job (``storefront/cron.py``: ``analyse_abandonment``, every 5 minutes) runs
``analyse_idle``. It finds, with indexed queries, leads whose ``last_activity_at`` (indexed)
is older than ``ABANDON_IDLE_MINUTES`` (app.config, default 30), and open carts (ACTIVE or
ABANDONED, by the ``(status, updated_at)`` index) with lines and a visit but no lead, no
field event since the cutoff and no opt-out; in both cases without an order and without an
analysis. Each gets one AbandonmentAnalysis (unique ``lead_id``, or ``visit_id`` for a
visit-only one), so a second run, or two workers, never analyse twice.

What is recorded (from the lead, its cart and its FieldEvents):

- stage: CART (never reached checkout), CHECKOUT (on the form), PAYMENT (every required
  field in, a card field touched, or a payment tried); section: customer, shipping or
  payment (the last active field's group, else the first section not complete); the last
  active field (the last field event's field, else the lead's);
- completed fields and sections (a section is complete when its required fields are) and
  the completion %;
- total time on the form (the sum of focus durations, ms), time on the last field, and the
  idle time before leaving: from the last field interaction to the last sign of the shopper
  on the page (a tab hidden, an exit intent, the page left), 0 when the last thing was a
  field event;
- validation errors per field ``{"email": {"count": 2, "message": "..."}}``; exit intent
  (any EXIT_INTENT); tab switches (TAB_HIDDEN events); cart value (cents) and item count.

The reason: the first rule that matches, in this order (``classify``):

== ====================  =================================================================
#  Reason                Rule
== ====================  =================================================================
1  TECHNICAL_ERROR       a payment failed with a processing/API error (not a decline), or
                         one field got 3 or more validation errors
2  PAYMENT_FRICTION      a payment was declined or failed, or the shopper touched the card
                         fields and left
3  PRICE_SHOCK           every required detail was in, so the full total with shipping and
                         tax was shown, and the card was never touched
4  COMPARISON_SHOPPING   the returning visitor (same ``visitor_id``) has 3 or more visits to
                         this merchant, this one included, and none ended in a purchase
5  TRUST_CONCERN         an email or phone was cleared and left without a value, or the
                         shopper stopped on the email or phone field without it being
                         captured after 5 s or more on it
6  DISTRACTION           2 or more tab switches, or the last thing that happened was the
                         tab being hidden (switched away, never back, never closed) without
                         an exit intent
7  FORM_FATIGUE          stopped mid-form (25 % ≤ completion < 100 %) after 90 s or more on
                         the form, or after 2 or more validation errors
8  UNKNOWN               none of the above
== ====================  =================================================================

Each reason has a suggested intervention (``INTERVENTIONS``).

Side effects on a lead: ``abandonment_reason``; ``abandonment_risk`` becomes the analysed
risk (``leads.value.analysed_risk``); an ABANDONMENT_ANALYSED activity. Its status moves
only while it is NEW (the system never overrides a status a merchant chose): a high-
engagement lead (engagement ≥ 0.7) becomes ENGAGED, a comparison shopper NURTURE; any other
NEW lead stays NEW, since nobody has acted on it yet.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.cart.models import Cart, LineItem
from storefront.checkout.fields import FIELD_NAMES, GROUPS, REQUIRED
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.leads import value as lv
from storefront.leads.activities import record_activity
from storefront.leads.field_events import FIELD_GROUPS, PAGE_TYPES, events_for, field_stats
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity
from storefront.leads.services import apply_scores, cart_snapshot
from storefront.leads.status import system_transition
from storefront.types import utcnow
from storefront.visits.models import Visit

log = logging.getLogger(__name__)

DEFAULT_IDLE_MINUTES = 30
BATCH_SIZE = 200
OPEN_CART_STATUSES = ("ACTIVE", "ABANDONED")
TECHNICAL_CODES = frozenset({"processing_error", "api_error", "api_connection_error", "rate_limit",
                             "rate_limit_error", "idempotency_error"})
CONTACT_FIELDS = ("email", "phone")
SECTIONS = ("customer", "shipping", "payment")
REASONS = ("TECHNICAL_ERROR", "PAYMENT_FRICTION", "PRICE_SHOCK", "COMPARISON_SHOPPING",
           "TRUST_CONCERN", "DISTRACTION", "FORM_FATIGUE", "UNKNOWN")
INTERVENTIONS = {
    "TECHNICAL_ERROR": "Check the payment and form errors of this checkout, then send the shopper "
                       "a link back to their filled-in checkout with an apology.",
    "PAYMENT_FRICTION": "Send a payment link soon; mention other ways to pay and that card details "
                        "are handled securely by Stripe.",
    "PRICE_SHOCK": "Offer free shipping or a small discount code, and show shipping and tax "
                   "earlier (on the landing page or in the cart).",
    "COMPARISON_SHOPPING": "Send a comparison-friendly reminder: reviews, guarantees, and a "
                           "time-limited offer.",
    "TRUST_CONCERN": "Reassure: reviews, returns policy and how contact details are used; keep "
                     "the phone number optional.",
    "DISTRACTION": "Send a friendly reminder within the hour with the cart and a link back to "
                   "checkout.",
    "FORM_FATIGUE": "Send a link that resumes checkout with the details already filled in; "
                    "consider fewer fields and autofill.",
    "UNKNOWN": "Send the standard cart reminder.",
}
COMPARISON_VISITS = 3
HESITATION_MS = 5_000
FATIGUE_FORM_MS = 90_000


@dataclass(frozen=True)
class Facts:
    """Everything the reason rules look at (times in ms, money in cents)."""

    stage: str = "CART"
    section: str | None = None
    last_active_field: str | None = None
    completed_fields: tuple[str, ...] = ()
    completed_sections: tuple[str, ...] = ()
    completion_pct: int = 0
    total_form_ms: int = 0
    last_field_ms: int = 0
    idle_ms: int = 0
    validation_errors: dict = field(default_factory=dict)
    exit_intent: bool = False
    tab_switches: int = 0
    last_event_type: str | None = None
    payment_touched: bool = False
    payment_failed: bool = False
    payment_error_code: str | None = None
    cleared_contact: bool = False
    visits: int = 1
    visitor_purchased: bool = False
    cart_value_cents: int = 0
    item_count: int = 0


def classify(facts: Facts) -> str:
    """The reason for ``facts``: the first matching rule of the module's table."""
    errors_per_field = [v["count"] for v in facts.validation_errors.values()]
    all_required = REQUIRED <= set(facts.completed_fields)
    if (facts.payment_failed and facts.payment_error_code in TECHNICAL_CODES) or \
            any(count >= 3 for count in errors_per_field):
        return "TECHNICAL_ERROR"
    if facts.payment_failed or facts.payment_touched:
        return "PAYMENT_FRICTION"
    if all_required:
        return "PRICE_SHOCK"
    if facts.visits >= COMPARISON_VISITS and not facts.visitor_purchased:
        return "COMPARISON_SHOPPING"
    if facts.cleared_contact or (
        facts.last_active_field in CONTACT_FIELDS
        and facts.last_active_field not in facts.completed_fields
        and facts.last_field_ms >= HESITATION_MS
    ):
        return "TRUST_CONCERN"
    if facts.tab_switches >= 2 or (facts.last_event_type == "TAB_HIDDEN" and not facts.exit_intent):
        return "DISTRACTION"
    if 25 <= facts.completion_pct < 100 and (facts.total_form_ms >= FATIGUE_FORM_MS or sum(errors_per_field) >= 2):
        return "FORM_FATIGUE"
    return "UNKNOWN"


def summarise(events, completed: list[str], *, fallback_field: str | None = None,
              checkout_started: bool = False, payment_failed: bool = False) -> dict:
    """The event-derived facts from ``events`` (FieldEvent rows or objects with the same
    attributes, in time order) and the captured field names ``completed``: a dict of
    ``Facts`` fields (stage, section, timings, errors, ...). Pure."""
    completed = [name for name in FIELD_NAMES if name in set(completed)]
    total_ms = last_ms = tab_switches = 0
    errors: dict[str, dict] = {}
    exit_intent = payment_touched = False
    cleared: set[str] = set()
    last_field, last_field_at, open_focus = None, None, {}
    for event in events:
        kind, name = event.event_type, event.field_name
        if kind in PAGE_TYPES:
            tab_switches += kind == "TAB_HIDDEN"
            exit_intent |= kind == "EXIT_INTENT"
            continue
        if event.field_group == "payment" and kind == "FOCUS":
            payment_touched = True
        if kind == "FOCUS":
            open_focus[name] = event.occurred_at
        elif kind == "BLUR":
            open_focus.pop(name, None)
            total_ms += event.focus_ms or 0
        elif kind == "VALIDATION_ERROR":
            entry = errors.setdefault(name, {"count": 0, "message": None})
            entry["count"] += 1
            entry["message"] = event.error_message or entry["message"]
        elif kind == "CLEAR" and name in CONTACT_FIELDS:
            cleared.add(name)
        last_field, last_field_at = name, event.occurred_at
    last_event = events[-1] if events else None
    if last_field is not None:
        # A field still focused when the shopper left counts up to their last field event.
        total_ms += sum(_ms(last_field_at - since) for since in open_focus.values())
        last_ms = sum(e.focus_ms or 0 for e in events if e.field_name == last_field and e.event_type == "BLUR")
        if last_field in open_focus:
            last_ms += _ms(last_field_at - open_focus[last_field])
    last_field = last_field or fallback_field
    done = [s for s in ("customer", "shipping")
            if all(n in completed for n in FIELD_NAMES if GROUPS[n] == s and n in REQUIRED)]
    all_required = REQUIRED <= set(completed)
    if payment_touched or payment_failed or all_required:
        stage = "PAYMENT"
    elif checkout_started or completed or events:
        stage = "CHECKOUT"
    else:
        stage = "CART"
    section = FIELD_GROUPS.get(last_field) if last_field else None
    if section is None and stage != "CART":
        section = "payment" if stage == "PAYMENT" else next(s for s in SECTIONS if s not in done)
    return {
        "stage": stage, "section": section, "last_active_field": last_field,
        "completed_fields": tuple(completed), "completed_sections": tuple(done),
        "completion_pct": len(completed) * 100 // len(FIELD_NAMES),
        "total_form_ms": total_ms, "last_field_ms": last_ms,
        "idle_ms": _ms(last_event.occurred_at - last_field_at) if last_event and last_field_at else 0,
        "validation_errors": errors, "exit_intent": exit_intent, "tab_switches": tab_switches,
        "last_event_type": last_event.event_type if last_event else None,
        "payment_touched": payment_touched,
        # Clearing a typo and typing again is not a doubt; clearing and leaving it empty is.
        "cleared_contact": any(name not in completed for name in cleared),
    }


def _ms(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() * 1000))


def idle_after() -> timedelta:
    """How long without activity before a lead or visit is analysed (ABANDON_IDLE_MINUTES)."""
    return timedelta(minutes=int(current_app.config.get("ABANDON_IDLE_MINUTES", DEFAULT_IDLE_MINUTES)))


def due_lead_ids(cutoff: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Ids of live, unconverted checkout leads idle since before ``cutoff``, without an
    analysis or an order: a range on ix_leads_last_activity_at, anti-joins on unique keys."""
    return list(db.session.execute(
        select(Lead.id).where(
            Lead.last_activity_at < cutoff, Lead.status != "CONVERTED", Lead.erased_at.is_(None),
            Lead.cart_id.is_not(None),
            ~exists().where(AbandonmentAnalysis.lead_id == Lead.id),
            ~exists().where(Order.cart_id == Lead.cart_id),
        ).order_by(Lead.last_activity_at, Lead.id).limit(limit)
    ).scalars())


def due_cart_ids(cutoff: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Ids of open carts with lines and a visit but no lead, idle since before ``cutoff``
    (cart and field events), without an order, an analysis of the visit, or an opt-out."""
    return list(db.session.execute(
        select(Cart.id).join(Visit, Visit.id == Cart.visit_id).where(
            Cart.status.in_(OPEN_CART_STATUSES), Cart.updated_at < cutoff,
            Visit.capture_opt_out.is_(False),
            exists().where(LineItem.cart_id == Cart.id),
            ~exists().where(Lead.cart_id == Cart.id),
            ~exists().where(Order.cart_id == Cart.id),
            ~exists().where(AbandonmentAnalysis.visit_id == Cart.visit_id),
            ~exists().where(FieldEvent.visit_id == Cart.visit_id, FieldEvent.occurred_at >= cutoff),
        ).order_by(Cart.updated_at, Cart.id).limit(limit)
    ).scalars())


def _visitor_history(visit: Visit | None) -> tuple[int, bool]:
    if visit is None:
        return 1, False
    visits, converted = db.session.execute(
        select(func.count(Visit.id), func.count(Visit.converted_at))
        .where(Visit.company_id == visit.company_id, Visit.visitor_id == visit.visitor_id)
    ).one()
    return int(visits), bool(converted)


def _payment_failure(lead: Lead | None, cart: Cart | None) -> tuple[bool, str | None]:
    code = None
    if lead is not None:
        last = db.session.execute(
            select(LeadActivity.payload).filter_by(lead_id=lead.id, type="PAYMENT_FAILED")
            .order_by(LeadActivity.created_at.desc(), LeadActivity.id.desc()).limit(1)
        ).scalar_one_or_none()
        if last is not None:
            return True, last.get("code")
    return bool(cart is not None and cart.payment_error), code


def build_facts(cart: Cart | None, visit: Visit | None, lead: Lead | None) -> Facts:
    """Gather the facts of one lead (or visit-only cart) from the database."""
    if lead is not None:
        events = events_for(lead_id=lead.id)
        completed = list(lead.captured_fields or [])
    else:
        events = events_for(visit_id=visit.id) if visit is not None else []
        completed = [n for n in FIELD_NAMES if (cart.checkout_fields or {}).get(n)] if cart else []
    failed, code = _payment_failure(lead, cart)
    visits, purchased = _visitor_history(visit)
    snapshot = cart_snapshot(cart, cart.checkout_started_at is not None) if cart is not None else {}
    summary = summarise(events, completed, fallback_field=lead.last_active_field if lead else None,
                        checkout_started=bool(snapshot.get("checkout_started")), payment_failed=failed)
    return Facts(**summary, payment_failed=failed, payment_error_code=code, visits=visits,
                 visitor_purchased=purchased, cart_value_cents=snapshot.get("value_cents", 0),
                 item_count=snapshot.get("item_count", 0))


def _analysis(facts: Facts, reason: str, **keys) -> AbandonmentAnalysis:
    return AbandonmentAnalysis(
        abandoned_stage=facts.stage, abandoned_section=facts.section,
        last_active_field=facts.last_active_field, completed_fields=list(facts.completed_fields),
        completed_sections=list(facts.completed_sections), completion_pct=facts.completion_pct,
        total_form_ms=facts.total_form_ms, last_field_ms=facts.last_field_ms, idle_ms=facts.idle_ms,
        validation_errors=facts.validation_errors, exit_intent=facts.exit_intent,
        tab_switches=facts.tab_switches, cart_value_cents=facts.cart_value_cents,
        item_count=facts.item_count, reason=reason, intervention=INTERVENTIONS[reason], **keys,
    )


def analyse_lead(lead_id: int) -> AbandonmentAnalysis | None:
    """Analyse one lead (by id) and apply the side effects. Returns None when it already has
    an analysis (or is gone). Commits."""
    lead = db.session.get(Lead, lead_id)
    if lead is None or db.session.execute(select(AbandonmentAnalysis.id).filter_by(lead_id=lead_id)).first():
        return None
    cart = db.session.get(Cart, lead.cart_id) if lead.cart_id else None
    visit = db.session.get(Visit, lead.visit_id) if lead.visit_id else None
    facts = build_facts(cart, visit, lead)
    reason = classify(facts)
    analysis = _analysis(facts, reason, company_id=lead.company_id, lead_id=lead.id, cart_id=lead.cart_id)
    db.session.add(analysis)
    db.session.flush()
    lead.abandonment_reason = reason
    company = db.session.get(Company, lead.company_id)
    # With the reason set, the scores take the analysed risk (leads.value.analysed_risk).
    apply_scores(lead, field_stats(lead_id=lead.id), company.lead_value_config if company else None)
    if lead.status == "NEW":
        if reason == "COMPARISON_SHOPPING":
            system_transition(lead, "NURTURE", "abandonment: comparison shopping")
        elif lv.is_high_engagement(lead.engagement_score):
            system_transition(lead, "ENGAGED", "abandonment: high engagement")
    record_activity(lead, "ABANDONMENT_ANALYSED", {"analysis_id": analysis.id, "reason": reason})
    db.session.commit()
    return analysis


def analyse_visit_cart(cart_id: int) -> AbandonmentAnalysis | None:
    """Analyse the visit of one cart that has no lead. Returns None when that visit already
    has an analysis (or the cart is gone). Commits."""
    cart = db.session.get(Cart, cart_id)
    if cart is None or cart.visit_id is None:
        return None
    if db.session.execute(select(AbandonmentAnalysis.id).filter_by(visit_id=cart.visit_id)).first():
        return None
    visit = db.session.get(Visit, cart.visit_id)
    facts = build_facts(cart, visit, None)
    reason = classify(facts)
    analysis = _analysis(facts, reason, company_id=cart.company_id, visit_id=cart.visit_id, cart_id=cart.id)
    db.session.add(analysis)
    db.session.commit()
    return analysis


def analyse_idle(now: datetime | None = None) -> int:
    """The job: analyse every due lead and visit-only cart (up to ``BATCH_SIZE`` of each per
    run, oldest first). ``now`` is aware UTC (default: the current time). Each analysis is
    its own transaction; one another worker made first is skipped. Returns how many were
    made. Needs an app context (``storefront.cron`` provides one)."""
    cutoff = (now or utcnow()) - idle_after()
    made = 0
    for analyse, ids in ((analyse_lead, due_lead_ids(cutoff)), (analyse_visit_cart, due_cart_ids(cutoff))):
        for item_id in ids:
            try:
                made += analyse(item_id) is not None
            except IntegrityError:
                db.session.rollback()  # analysed meanwhile by another run: unique key
    log.info("abandonment analysis: %d made (cutoff %s)", made, cutoff.isoformat())
    return made
