"""The lead timeline (LeadActivity): one row per thing that happened to a lead.

Payloads never hold personal data (no email, phone, name or address, only field *names*,
amounts and codes), so erasing a lead's identity leaves an anonymous timeline behind.

=====================  ============================================================
Type                   Payload
=====================  ============================================================
EMAIL_CAPTURED         {"created": bool, "merged_lead_id": int?, "visit_id": int?}
PHONE_CAPTURED         {"created": bool, "visit_id": int?}
FIELD_CAPTURED         {"fields": [names newly captured]}
CART_UPDATED           {"value_cents", "item_count", "currency"}
CHECKOUT_STARTED       {"cart_id"}
PAYMENT_FAILED         {"code", "decline_code", "message"} (Stripe's, no card data)
STATUS_CHANGED         {"from", "to", "by": "user"|"system", "user_id"?, "why"?}
NOTE_ADDED             {"note_id", "user_id"}
ORDER_PLACED           {"cart_id", "value_cents"}
ABANDONMENT_ANALYSED   {"analysis_id", "reason"}
EMAIL_SENT, SMS_SENT,  {"intervention_id", "stage"} (a recovery message; CLICKED: its link)
CALL_MADE, EMAIL_CLICKED, EMAIL_OPENED
CONSENT_RECORDED       {"channels", "source", "text", "consented_at", "user_id"} (a lead the
                       merchant brought: the words the person agreed to, ``leads.intake``)
=====================  ============================================================

Shopper activities (``SHOPPER_TYPES``) move ``lead.last_activity_at``, the clock of the
abandonment job; merchant activities (status changes, notes) and the job's own do not.
"""
from __future__ import annotations

from datetime import datetime

from storefront.extensions import db
from storefront.leads.models import Lead, LeadActivity
from storefront.types import utcnow

ACTIVITY_TYPES = (
    "EMAIL_CAPTURED", "PHONE_CAPTURED", "FIELD_CAPTURED", "CART_UPDATED", "CHECKOUT_STARTED",
    "PAYMENT_FAILED", "STATUS_CHANGED", "NOTE_ADDED", "ORDER_PLACED", "ABANDONMENT_ANALYSED",
    "EMAIL_SENT", "EMAIL_OPENED", "EMAIL_CLICKED", "SMS_SENT", "CALL_MADE", "CONSENT_RECORDED",
)
SHOPPER_TYPES = frozenset({
    "EMAIL_CAPTURED", "PHONE_CAPTURED", "FIELD_CAPTURED", "CART_UPDATED", "CHECKOUT_STARTED",
    "PAYMENT_FAILED", "ORDER_PLACED",
})


def record_activity(lead: Lead, activity_type: str, payload: dict | None = None,
                    at: datetime | None = None) -> LeadActivity:
    """Add one activity to ``lead``'s timeline (in the caller's transaction; the lead must
    have an id, i.e. be flushed). ``at`` defaults to now (aware UTC). Raises ValueError for
    an unknown type. A shopper activity also sets ``lead.last_activity_at``."""
    if activity_type not in ACTIVITY_TYPES:
        raise ValueError(f"unknown lead activity type {activity_type!r}")
    when = at or utcnow()
    activity = LeadActivity(company_id=lead.company_id, lead_id=lead.id, type=activity_type,
                            payload=payload or {}, created_at=when)
    db.session.add(activity)
    if activity_type in SHOPPER_TYPES and (lead.last_activity_at is None or when > lead.last_activity_at):
        lead.last_activity_at = when
    return activity


def timeline(lead: Lead, limit: int = 200) -> list[LeadActivity]:
    """The lead's activities, newest first (uses ix_lead_activities_lead_time)."""
    return list(db.session.execute(
        db.select(LeadActivity).filter_by(lead_id=lead.id, company_id=lead.company_id)
        .order_by(LeadActivity.created_at.desc(), LeadActivity.id.desc()).limit(limit)
    ).scalars())
