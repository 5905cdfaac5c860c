"""Field events: how the shopper moves through the checkout form, never what they type.

``static/js/field-events.js`` batches events and posts them to ``POST /checkout/events``
(``leads.routes``). This module validates a batch strictly (``parse_batch``), stores it
for the shopper's cart, visit and lead (``event_store.store_batch``), and aggregates a visit's events
for the scores and the abandonment analysis (``field_stats``).

The batch, JSON, at most 32 KB (``MAX_BODY_BYTES``)::

    {"csrf": "<the page's CSRF token>", "ref": "<checkout_ref of the page's cart>",
     "sent_at": <client ms since the epoch>,
     "events": [{"type": "BLUR", "field": "email", "group": "customer", "has_value": true,
                 "length": 17, "valid": null, "error": null, "focus_ms": 5400,
                 "at": <client ms since the epoch>}, ...]}          (1 to 100 events)

Only ``type``, ``field`` and ``at`` are required in an event; no other key is accepted (a
value smuggled in an extra key fails the whole batch). Event types:

- on a form field (``checkout.fields.FIELD_NAMES``): FOCUS, BLUR (with ``focus_ms``),
  INPUT (debounced, at most one a second), VALIDATION_ERROR (``error``: the rendered error
  text), VALIDATION_SUCCESS, AUTOCOMPLETE (browser autofill), PASTE, CLEAR;
- on a payment pseudo-field (``PAYMENT_FIELDS``: the Stripe Card Element, whole or its
  parts): FOCUS and BLUR only, with ``has_value`` false and ``length`` 0: nothing at all
  of a card is ever sent;
- on the page pseudo-field ``page`` (group ``page``): TAB_HIDDEN and TAB_VISIBLE (the tab
  or app was switched away from, or back to: ``visibilitychange``), PAGE_LEAVE (``pagehide``:
  the shopper navigated away or closed the page; that hiding is not a TAB_HIDDEN), and
  EXIT_INTENT (the mouse left through the top of the window, on a desktop).

Times: ``at`` and ``sent_at`` must be within a day of the server's clock; each event is
stored at ``at + (server now − sent_at)`` (at most now), which cancels a skewed client
clock while keeping the events' spacing.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, distinct, false, func, select

from storefront.cart.models import Cart
from storefront.checkout.fields import FIELD_NAMES, GROUPS, validate_field
from storefront.extensions import db
from storefront.inputs import InputError, check_json
from storefront.leads.models import FieldEvent
from storefront.logging_privacy import mask_pii
from storefront.types import utcnow

MAX_BODY_BYTES = 32 * 1024
MAX_EVENTS = 100
MAX_ERROR_LENGTH = 200
MAX_VALUE_LENGTH = 1000
MAX_FOCUS_MS = 24 * 60 * 60 * 1000
MAX_SKEW = timedelta(days=1)

FIELD_TYPES = frozenset({"FOCUS", "BLUR", "INPUT", "VALIDATION_ERROR", "VALIDATION_SUCCESS",
                         "AUTOCOMPLETE", "PASTE", "CLEAR"})
PAYMENT_TYPES = frozenset({"FOCUS", "BLUR"})
PAGE_TYPES = frozenset({"TAB_HIDDEN", "TAB_VISIBLE", "PAGE_LEAVE", "EXIT_INTENT"})
EVENT_TYPES = FIELD_TYPES | PAGE_TYPES
PAGE_FIELD = "page"
# "card" is Stripe's Card Element as a whole (an iframe: its parts can't be told apart);
# the others are the parts of the test-mode element, which renders plain inputs.
PAYMENT_FIELDS = ("card", "card_number", "card_expiry", "card_cvc", "card_postal")
FIELD_GROUPS: dict[str, str] = {**GROUPS, **dict.fromkeys(PAYMENT_FIELDS, "payment"), PAGE_FIELD: "page"}
EVENT_KEYS = frozenset({"type", "field", "group", "has_value", "length", "valid", "error",
                        "focus_ms", "at"})
BATCH_KEYS = frozenset({"csrf", "ref", "sent_at", "events"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class EventBatchError(ValueError):
    """A malformed batch; ``str(error)`` is the short reason answered with 400."""


@dataclass(frozen=True)
class Batch:
    """A validated batch: the CSRF token and page ref to check, and rows for FieldEvent
    (without company, visit, cart and lead, which come from the cookies)."""

    csrf: str
    ref: str
    events: tuple[dict, ...]


def checkout_ref(cart: Cart | None) -> str:
    """A public reference to ``cart`` for the checkout page (24 hex characters of SHA-256
    of its secret token): events posted from a page rendered for another cart (a cart of
    another merchant opened in another tab since) are refused."""
    if cart is None:
        return ""
    return hashlib.sha256(b"checkout-events:" + cart.token.encode()).hexdigest()[:24]


def _known_error_messages() -> frozenset[str]:
    # Every message the form can render, found by asking the validator itself, so the set
    # follows checkout.fields without a copy of its texts.
    probes = ("", "x" * 2000, "not-an-email", "12", "ZZ")
    return frozenset(r.error for name in FIELD_NAMES for p in probes
                     if (r := validate_field(name, p, "US")).error)


KNOWN_ERRORS = _known_error_messages()


def _int(event: dict, key: str, low: int, high: int, default: int | None) -> int | None:
    value = event.get(key, default)
    if value is None and default is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise EventBatchError(f"{key} must be a whole number from {low} to {high}")
    return value


def _bool(event: dict, key: str, default: bool | None) -> bool | None:
    value = event.get(key, default)
    if value is not None and type(value) is not bool:
        raise EventBatchError(f"{key} must be true, false or null")
    return value


def _time(ms, now: datetime, key: str) -> datetime:
    if type(ms) is not int:
        raise EventBatchError(f"{key} must be milliseconds since the epoch")
    try:
        when = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise EventBatchError(f"{key} is out of range") from error
    if abs(when - now) > MAX_SKEW:
        raise EventBatchError(f"{key} is more than a day away")
    return when


def _error_text(event: dict, event_type: str) -> str | None:
    error = event.get("error")
    if error is None:
        return None
    if event_type != "VALIDATION_ERROR":
        raise EventBatchError("error is only for VALIDATION_ERROR")
    if not isinstance(error, str) or len(error) > MAX_ERROR_LENGTH or _CONTROL.search(error):
        raise EventBatchError(f"error must be text of at most {MAX_ERROR_LENGTH} characters")
    error = error.strip()
    # Our own messages are kept as they are; any other text is masked, so that even a
    # tampered client cannot store an email or phone number here.
    return error if error in KNOWN_ERRORS else mask_pii(error)


def _event(event, now: datetime, offset: timedelta) -> dict:
    if not isinstance(event, dict):
        raise EventBatchError("each event must be an object")
    extra = set(event) - EVENT_KEYS
    if extra:
        raise EventBatchError(f"unknown key {sorted(extra)[0]!r}")
    event_type, name = event.get("type"), event.get("field")
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise EventBatchError("unknown event type")
    if not isinstance(name, str) or name not in FIELD_GROUPS:
        raise EventBatchError("unknown field")
    group = FIELD_GROUPS[name]
    if event.get("group", group) != group:
        raise EventBatchError(f"field {name} is in group {group}")
    allowed = PAGE_TYPES if group == "page" else PAYMENT_TYPES if group == "payment" else FIELD_TYPES
    if event_type not in allowed:
        raise EventBatchError(f"{event_type} is not an event of field {name}")
    has_value = _bool(event, "has_value", False)
    length = _int(event, "length", 0, MAX_VALUE_LENGTH, 0)
    if group in ("page", "payment") and (has_value or length):
        raise EventBatchError(f"{name} events carry no value length")
    if bool(has_value) != (length > 0):
        raise EventBatchError("has_value and length disagree")
    at = _time(event.get("at"), now, "at")
    return {
        "event_type": event_type, "field_name": name, "field_group": group,
        "has_value": bool(has_value), "value_length": length,
        "is_valid": _bool(event, "valid", None), "error_message": _error_text(event, event_type),
        "focus_ms": _int(event, "focus_ms", 0, MAX_FOCUS_MS, None),
        "occurred_at": min(at + offset, now),
    }


def parse_batch(body: bytes, now: datetime | None = None) -> Batch:
    """Validate a raw batch (see the module docstring). Raises EventBatchError with a short
    reason for anything malformed: too large, not JSON, unknown or missing keys, unknown
    types or fields, numbers out of range, times more than a day away, too many events."""
    now = now or utcnow()
    if len(body) > MAX_BODY_BYTES:
        raise EventBatchError("batch too large")
    try:
        data = check_json(json.loads(body.decode("utf-8")), "the batch")
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        # InputError is a ValueError: a control character or lone surrogate in any string.
        raise EventBatchError(str(error) if isinstance(error, InputError) else "not JSON") from error
    if not isinstance(data, dict) or set(data) != BATCH_KEYS:
        raise EventBatchError("a batch has exactly csrf, ref, sent_at and events")
    if not isinstance(data["csrf"], str) or not isinstance(data["ref"], str) or len(data["ref"]) > 64:
        raise EventBatchError("csrf and ref must be text")
    events = data["events"]
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise EventBatchError(f"events must be a list of 1 to {MAX_EVENTS}")
    offset = now - _time(data["sent_at"], now, "sent_at")
    return Batch(csrf=data["csrf"], ref=data["ref"], events=tuple(_event(e, now, offset) for e in events))


# ---- aggregates ------------------------------------------------------------------------

def stats_subquery(visit_id: int | None = None, lead_id: int | None = None):
    """One-row aggregate of the events of a visit (or of a lead), as a subquery with the
    columns of ``FieldStats`` (usable in a join: see ``leads.services``)."""
    fe = FieldEvent
    scope = (fe.visit_id == visit_id) if visit_id is not None else \
        (fe.lead_id == lead_id) if lead_id is not None else false()

    def count_of(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return select(
        func.count(distinct(case((and_(fe.event_type == "FOCUS", fe.field_name.in_(FIELD_NAMES)),
                                  fe.field_name)))).label("fields_touched"),
        func.coalesce(func.sum(case((fe.event_type == "BLUR", fe.focus_ms), else_=0)), 0).label("focus_ms"),
        count_of(and_(fe.field_group == "payment", fe.event_type == "FOCUS")).label("payment_focus"),
        count_of(fe.event_type == "TAB_HIDDEN").label("tab_switches"),
        count_of(fe.event_type == "EXIT_INTENT").label("exit_intents"),
        count_of(fe.event_type == "VALIDATION_ERROR").label("validation_errors"),
    ).where(scope).subquery("field_stats")


@dataclass(frozen=True)
class FieldStats:
    """Aggregates of field events: distinct form fields focused, focused time (ms), payment
    focus, tab switches, exit intent and validation errors."""

    fields_touched: int = 0
    focus_ms: int = 0
    payment_touched: bool = False
    tab_switches: int = 0
    exit_intent: bool = False
    validation_errors: int = 0

    @classmethod
    def from_row(cls, row) -> FieldStats:
        """From the columns of ``stats_subquery`` (a Row or mapping)."""
        m = row._mapping if hasattr(row, "_mapping") else row
        return cls(fields_touched=int(m["fields_touched"] or 0), focus_ms=int(m["focus_ms"] or 0),
                   payment_touched=bool(m["payment_focus"]), tab_switches=int(m["tab_switches"] or 0),
                   exit_intent=bool(m["exit_intents"]), validation_errors=int(m["validation_errors"] or 0))


def field_stats(visit_id: int | None = None, lead_id: int | None = None) -> FieldStats:
    """The aggregates of a visit's (or a lead's) events, in one query."""
    sub = stats_subquery(visit_id, lead_id)
    return FieldStats.from_row(db.session.execute(select(sub)).one())


def events_for(lead_id: int | None = None, visit_id: int | None = None, limit: int = 5000) -> list[FieldEvent]:
    """A lead's (or a visit's) events in time order (indexed by lead/visit and time)."""
    column = FieldEvent.lead_id if lead_id is not None else FieldEvent.visit_id
    key = lead_id if lead_id is not None else visit_id
    return list(db.session.execute(
        db.select(FieldEvent).where(column == key)
        .order_by(FieldEvent.occurred_at, FieldEvent.id).limit(limit)
    ).scalars())
