"""The admin's lead detail: identity and capture progress, a field-by-field timeline merged
from field events and activities, the abandonment analysis, notes, status changes, and the
linked customer with their orders.

The lead comes in already fetched through ``accounts.scoping.get_or_404``; every other read
here is scoped to the same merchant as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_

from storefront.accounts.models import Company, User
from storefront.accounts.scoping import scoped
from storefront.checkout.fields import FIELD_NAMES, LABELS
from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.leads.models import AbandonmentAnalysis, FieldEvent, Lead, LeadActivity, LeadNote
from storefront.leads.services import MAX_NOTE_LENGTH
from storefront.leads.services import add_note as save_note
from storefront.leads.status import allowed_transitions, change_status
from storefront.visits.models import Visit

MAX_NOTE = MAX_NOTE_LENGTH  # characters
TIMELINE_LIMIT = 400  # newest field events and activities each; older ones are summarised away
ORDERS_LIMIT = 20
EVENT_TITLES = {
    "FOCUS": "Focused", "BLUR": "Left the field", "INPUT": "Typed", "VALIDATION_ERROR": "Invalid",
    "VALIDATION_SUCCESS": "Valid", "AUTOCOMPLETE": "Autofilled by the browser", "PASTE": "Pasted",
    "CLEAR": "Cleared", "TAB_HIDDEN": "Switched to another tab", "TAB_VISIBLE": "Came back to the tab",
    "EXIT_INTENT": "Moved to leave the page",
}
PAGE_FIELD = "page"  # field_events' pseudo-field of tab switches and exit intent


def field_label(name: str | None) -> str:
    """The checkout form's label of a field ("address1" -> "Address"), else the name tidied."""
    if not name:
        return ""
    return LABELS.get(name) or name.replace("_", " ").capitalize()


class NoteError(ValueError):
    """A note that cannot be saved; ``str(error)`` says why, ``body`` is what was typed."""

    def __init__(self, message: str, body: str) -> None:
        super().__init__(message)
        self.body = body


@dataclass
class TimelineEntry:
    """One line of the timeline: ``at`` (UTC), ``kind`` "field" or "activity", the field it
    concerns (or None), a short ``title`` and ``detail``, and ``problem`` for errors."""

    at: datetime
    kind: str
    field_name: str | None
    title: str
    detail: str = ""
    problem: bool = False


@dataclass
class FieldSummary:
    """One checkout field's story: captured or not, times focused, focus time (ms),
    validation errors, and its last event."""

    name: str
    captured: bool
    focus_count: int = 0
    focus_ms: int = 0
    errors: int = 0
    last_event: str | None = None

    @property
    def label(self) -> str:
        return field_label(self.name)


@dataclass
class LeadDetail:
    """Everything the detail page shows. ``allowed`` are the statuses this lead may move to."""

    lead: Lead
    landing_page: LandingPage | None
    visit: Visit | None
    analysis: AbandonmentAnalysis | None
    timeline: list[TimelineEntry]
    fields: list[FieldSummary]
    notes: list[tuple[LeadNote, str | None]]
    customer: object | None
    orders: list = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    @property
    def cart_lines(self) -> list[SnapshotLine]:
        return snapshot_lines(self.lead.cart_snapshot)

    @property
    def captured_labels(self) -> list[str]:
        return [field_label(name) for name in (self.lead.captured_fields or [])]


def allowed_statuses(lead: Lead) -> list[str]:
    """The statuses a user may move ``lead`` to, in lifecycle order (never CONVERTED, which
    only the system sets)."""
    return [s for s in allowed_transitions(lead.status) if s != "CONVERTED"]


def _event_entry(event: FieldEvent) -> TimelineEntry:
    bits = []
    if event.event_type in ("BLUR", "INPUT", "PASTE", "AUTOCOMPLETE"):
        bits.append(f"{event.value_length} characters" if event.has_value else "empty")
    if event.focus_ms:
        bits.append(f"{event.focus_ms / 1000:.1f} s in the field")
    if event.event_type == "VALIDATION_ERROR" and event.error_message:
        bits.append(event.error_message)
    return TimelineEntry(event.occurred_at, "field", None if event.field_name == PAGE_FIELD else event.field_name,
                         EVENT_TITLES.get(event.event_type, event.event_type.title()),
                         " · ".join(bits), problem=event.event_type == "VALIDATION_ERROR")


# Recovery messages on the timeline: the payload names the flow's stage.
RECOVERY_TYPES = frozenset({"EMAIL_SENT", "EMAIL_OPENED", "EMAIL_CLICKED", "SMS_SENT", "CALL_MADE"})
CHANNEL_WORDS = {"EMAIL": "Emails", "SMS": "Texts", "VOICE": "Calls"}


def _activity_entry(activity: LeadActivity) -> TimelineEntry:
    payload = activity.payload if isinstance(activity.payload, dict) else {}
    name = payload.get("field") or payload.get("field_name")
    title = activity.type.replace("_", " ").capitalize()
    if activity.type == "STATUS_CHANGED":
        detail = f"{str(payload.get('from', '')).title()} → {str(payload.get('to', '')).title()}"
    elif activity.type == "NOTE_ADDED":
        detail = "A note was added"
    elif activity.type == "ABANDONMENT_ANALYSED" and isinstance(payload.get("reason"), str):
        detail = "Reason: " + payload["reason"].replace("_", " ").capitalize()
    elif activity.type in RECOVERY_TYPES and isinstance(payload.get("stage"), str):
        detail = payload["stage"].replace("_", " ").capitalize()  # "Reminder email"
    elif activity.type == "CONSENT_RECORDED" and isinstance(payload.get("channels"), list):
        channels = ", ".join(CHANNEL_WORDS.get(c, str(c)) for c in payload["channels"][:3])
        detail = f"{channels}, {str(payload.get('source', '')).lower()}: “{str(payload.get('text', ''))[:240]}”"
    elif isinstance(payload.get("fields"), list):
        detail = ", ".join(field_label(str(n)) for n in payload["fields"][:20])
    else:
        # Short scalar facts of the payload (a value, a count, a step): never whole objects.
        detail = " · ".join(f"{key.replace('_', ' ')}: {value}" for key, value in payload.items()
                            if isinstance(value, int | float | str) and not isinstance(value, bool)
                            and key not in ("field", "field_name") and not key.endswith("_id")
                            and len(str(value)) <= 80)[:300]
    return TimelineEntry(activity.created_at, "activity", name if isinstance(name, str) else None,
                         title, detail, problem=activity.type in ("PAYMENT_FAILED",))


def _field_events(lead: Lead) -> list[FieldEvent]:
    # Events sent before the lead existed (the first focus on the email field) carry only
    # the visit: they belong to this lead's story too.
    mine = FieldEvent.lead_id == lead.id
    if lead.visit_id:
        mine = or_(mine, and_(FieldEvent.visit_id == lead.visit_id, FieldEvent.lead_id.is_(None)))
    newest = db.session.scalars(scoped(FieldEvent).where(mine)
                                .order_by(FieldEvent.occurred_at.desc(), FieldEvent.id.desc())
                                .limit(TIMELINE_LIMIT)).all()
    return newest[::-1]


def _summaries(lead: Lead, events: list[FieldEvent]) -> list[FieldSummary]:
    captured = set(lead.captured_fields or [])
    names = list(FIELD_NAMES) + sorted({e.field_name for e in events} - set(FIELD_NAMES) - {PAGE_FIELD})
    summaries = {name: FieldSummary(name, name in captured) for name in names}
    for event in events:
        summary = summaries.get(event.field_name)
        if summary is None:  # the page's own events (tab switches, exit intent)
            continue
        if event.event_type == "FOCUS":
            summary.focus_count += 1
        if event.focus_ms:
            summary.focus_ms += event.focus_ms
        if event.event_type == "VALIDATION_ERROR":
            summary.errors += 1
        summary.last_event = EVENT_TITLES.get(event.event_type, event.event_type.title())
    return list(summaries.values())


def _customer_and_orders(lead: Lead) -> tuple[object | None, list]:
    # Customer and Order are checkout's models; the lead already points at the customer.
    from storefront.checkout.models import Customer, Order

    customer = None
    if lead.customer_id:
        customer = db.session.scalars(scoped(Customer).where(Customer.id == lead.customer_id)).first()
    elif lead.email and lead.erased_at is None:
        customer = db.session.scalars(scoped(Customer).where(Customer.email == lead.email)).first()
    match = Order.lead_id == lead.id
    if customer is not None:
        match = or_(match, Order.customer_id == customer.id)
    orders = db.session.scalars(scoped(Order).where(match).order_by(Order.created_at.desc())
                                .limit(ORDERS_LIMIT)).all()
    return customer, orders


@dataclass
class SnapshotLine:
    """One line of the lead's cart snapshot: product title, variant title, quantity and
    line total in cents."""

    title: str
    variant: str
    quantity: int
    total_cents: int


def snapshot_lines(snapshot: dict | None) -> list[SnapshotLine]:
    """The snapshot's lines (``leads.services._cart_snapshot`` shape), read defensively:
    a malformed line is skipped rather than breaking the page."""
    lines = []
    for line in (snapshot or {}).get("lines") or []:
        if not isinstance(line, dict):
            continue
        quantity = line.get("quantity") if isinstance(line.get("quantity"), int) else 1
        total = line.get("line_total_cents")
        if not isinstance(total, int):
            unit = line.get("unit_price_cents")
            total = unit * quantity if isinstance(unit, int) else 0
        variant = str(line.get("variant") or line.get("variant_title") or "")
        lines.append(SnapshotLine(str(line.get("title") or "Product"),
                                  "" if variant == "Default Title" else variant, quantity, total))
    return lines


def lead_detail(lead: Lead) -> LeadDetail:
    """Gather the detail page of ``lead`` (already scoped). About eight queries, bounded:
    the timeline keeps the newest TIMELINE_LIMIT events and activities, orders the newest
    ORDERS_LIMIT."""
    page = visit = None
    if lead.landing_page_id:
        page = db.session.scalars(scoped(LandingPage).where(LandingPage.id == lead.landing_page_id)).first()
    if lead.visit_id:
        visit = db.session.scalars(scoped(Visit).where(Visit.id == lead.visit_id)).first()
    analysis = db.session.scalars(scoped(AbandonmentAnalysis)
                                  .where(AbandonmentAnalysis.lead_id == lead.id)).first()
    events = _field_events(lead)
    activities = db.session.scalars(
        scoped(LeadActivity).where(LeadActivity.lead_id == lead.id)
        .order_by(LeadActivity.created_at.desc(), LeadActivity.id.desc()).limit(TIMELINE_LIMIT)).all()
    timeline = sorted([_event_entry(e) for e in events] + [_activity_entry(a) for a in activities],
                      key=lambda entry: entry.at)
    customer, orders = _customer_and_orders(lead)
    return LeadDetail(lead, page, visit, analysis, timeline, _summaries(lead, events),
                      lead_notes(lead), customer, orders, allowed_statuses(lead))


def lead_notes(lead: Lead) -> list[tuple[LeadNote, str | None]]:
    """The lead's notes, newest first, each with its author's email (None once deleted)."""
    return [tuple(row) for row in db.session.execute(
        scoped(LeadNote, LeadNote, User.email).outerjoin(User, User.id == LeadNote.user_id)
        .where(LeadNote.lead_id == lead.id).order_by(LeadNote.created_at.desc(), LeadNote.id.desc()))]


def add_note(lead: Lead, user: User, body: str | None) -> LeadNote:
    """Add a note by ``user`` to ``lead`` through ``leads.services.add_note`` (which records
    NOTE_ADDED with the note's id, never its text). Commits.

    Raises NoteError, holding what was typed, for an empty note, one over MAX_NOTE
    characters, or an erased lead (a note could bring personal data back).
    """
    text = (body or "").replace("\r\n", "\n")
    if lead.erased_at is not None:
        raise NoteError("This lead was erased: notes can no longer be added.", text.strip())
    try:
        return save_note(lead, text, user)
    except ValueError as error:
        raise NoteError(str(error), text.strip()) from error


def set_status(lead: Lead, new_status: str, user: User) -> bool:
    """Move ``lead`` to ``new_status`` through the lifecycle (``leads.status``). Commits.
    Returns False when it already had that status.

    Raises ``leads.status.LeadStatusError`` for a transition the lifecycle does not allow
    (CONVERTED included: only the system sets it).
    """
    return change_status(lead, new_status, user)


def company_of(lead: Lead) -> Company:
    """The lead's merchant, for its currency, locale and timezone."""
    return db.session.get(Company, lead.company_id)
