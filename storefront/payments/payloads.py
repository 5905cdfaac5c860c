"""Reading Stripe's JSON defensively, for the webhook (ARCHITECTURE §6).

Two sources are read here, and every value used is type-checked:

- the signed event body, for three things only: the event id, its type, and the id of the
  object it is about (``read_event``);
- Stripe's own copy of that object, fetched again from the API, for everything an order is
  made from: status, amount, currency, metadata and email (``read_intent``,
  ``read_session``).

Ids are short ASCII strings (``[A-Za-z0-9_]``, at most 255, Stripe's documented limit);
amounts are non-negative ints within PostgreSQL ``integer``; a currency is three ASCII
letters; metadata is a dict of strings; ``cart_id`` and ``company_id`` go through the one
ASCII integer parser of ``storefront.inputs``. A value of the wrong shape raises
UnusableEvent, answered 400 by the webhook.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from storefront.inputs import DB_INT_MAX, MAX_JSON_DEPTH, InputError, bad_character, parse_int

ID_MAX = 255
_ID = re.compile(rf"[A-Za-z0-9_]{{1,{ID_MAX}}}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_WORD = re.compile(r"[a-z_]{1,40}")
MAX_TEXT = 500  # Stripe's longest metadata value; our payment_error column keeps 500 too


class UnusableEvent(ValueError):
    """A well-signed event (or Stripe's copy of its object) that cannot be used; ``str()``
    is the reason, safe to log and to answer. ``event_id`` is set once the id is known."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.event_id = event_id


@dataclass(frozen=True)
class EventRef:
    """What the event body is trusted for: its id, its type, and its object's id (None
    when ``data.object`` carries no usable id; the handlers of payment events require one)."""

    id: str
    type: str
    object_id: str | None


@dataclass(frozen=True)
class IntentCopy:
    """Stripe's copy of a PaymentIntent. ``amount_cents`` is ``amount_received`` where
    Stripe gives it, else ``amount``; ``cart_id`` None means "not one of our intents"."""

    id: str
    status: str
    amount_cents: int
    currency: str
    cart_id: int | None
    company_id: int | None
    email: str | None
    error_message: str | None
    error_code: str | None
    decline_code: str | None


@dataclass(frozen=True)
class SessionCopy:
    """Stripe's copy of a Checkout Session. ``amount_cents`` and ``currency`` are None until
    Stripe knows them (an open session); ``cart_id`` comes from metadata, else
    ``client_reference_id``."""

    id: str
    mode: str
    payment_status: str
    amount_cents: int | None
    currency: str | None
    cart_id: int | None
    company_id: int | None
    email: str | None
    payment_intent_id: str | None


def _depth_exceeds(value, limit: int) -> bool:
    # Iterative: a recursive walk is what deep nesting is meant to break.
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON, and Stripe never sends them.
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> dict:
    """The decoded JSON object of an event body. Raises UnusableEvent for invalid JSON
    (NaN and Infinity included), a non-object, or nesting deeper than MAX_JSON_DEPTH (json.loads itself raises
    RecursionError on very deep input, which is caught here too)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise UnusableEvent("the body is not valid JSON") from error
    if not isinstance(value, dict):
        raise UnusableEvent("the body is not a JSON object")
    if _depth_exceeds(value, MAX_JSON_DEPTH):
        raise UnusableEvent(f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def stripe_id(value, what: str, prefix: str = "") -> str:
    """``value`` when it is a Stripe id (ASCII letters, digits and ``_``, 1..255, starting
    with ``prefix``); raises UnusableEvent naming ``what`` otherwise."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or not value.startswith(prefix):
        raise UnusableEvent(f"{what} is not a Stripe id" + (f" starting {prefix}" if prefix else ""))
    return value


def read_event(event: dict) -> EventRef:
    """The id, type and object id of a decoded event. Raises UnusableEvent when the id or
    type is missing or malformed, or ``data.object`` is not an object."""
    event_id = stripe_id(event.get("id"), "the event id")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        raise UnusableEvent("the event type is missing or malformed", event_id)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise UnusableEvent("data.object is missing", event_id)
    object_id = obj.get("id")
    usable = isinstance(object_id, str) and _ID.fullmatch(object_id)
    return EventRef(event_id, event_type, object_id if usable else None)


def _amount(obj: dict, key: str, required: bool) -> int | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= DB_INT_MAX:
        raise UnusableEvent(f"{key} is not a whole number of cents, 0 or more, within 32 bits")
    return value


def _currency(obj: dict, required: bool) -> str | None:
    value = obj.get("currency")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise UnusableEvent("currency is not a three-letter code")
    return value.upper()


def _word(obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise UnusableEvent(f"{key} is missing or malformed")
    return value


def _metadata(obj: dict) -> dict[str, str]:
    value = obj.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise UnusableEvent("metadata is not a set of text values")
    return value


def _metadata_int(raw: str | None, key: str) -> int | None:
    if raw is None:
        return None
    try:
        return parse_int(raw, 1, DB_INT_MAX, key)
    except InputError as error:
        raise UnusableEvent(f"{key} is not a positive whole number within 32 bits") from error


def _text(value, limit: int = MAX_TEXT) -> str | None:
    """Optional text we store (an email, a decline message): None when absent or unusable,
    since its absence never blocks an order (the cart has its own copy)."""
    if not isinstance(value, str) or not value or len(value) > limit or bad_character(value):
        return None
    return value


def _same_object(obj: dict, object_id: str, kind: str) -> None:
    if obj.get("id") != object_id or obj.get("object", kind) != kind:
        raise UnusableEvent(f"Stripe's copy is not the {kind} {object_id}")


def read_intent(obj: dict, intent_id: str) -> IntentCopy:
    """Stripe's copy of the PaymentIntent ``intent_id`` (a plain dict, as the API sent it).
    Raises UnusableEvent when a field has the wrong shape."""
    _same_object(obj, intent_id, "payment_intent")
    metadata = _metadata(obj)
    received = _amount(obj, "amount_received", required=False)
    amount = _amount(obj, "amount", required=True)
    error = obj.get("last_payment_error")
    error = error if isinstance(error, dict) else {}
    return IntentCopy(
        id=intent_id,
        status=_word(obj, "status"),
        amount_cents=received if received is not None else amount,
        currency=_currency(obj, required=True),
        cart_id=_metadata_int(metadata.get("cart_id"), "cart_id"),
        company_id=_metadata_int(metadata.get("company_id"), "company_id"),
        email=_text(obj.get("receipt_email"), 254),
        error_message=_text(error.get("message")),
        error_code=_text(error.get("code"), 100),
        decline_code=_text(error.get("decline_code"), 100),
    )


def read_session(obj: dict, session_id: str) -> SessionCopy:
    """Stripe's copy of the Checkout Session ``session_id`` (a plain dict). Amount and
    currency may be null until the session is paid. Raises UnusableEvent when a field has
    the wrong shape."""
    _same_object(obj, session_id, "checkout.session")
    metadata = _metadata(obj)
    raw_cart = metadata.get("cart_id")
    if raw_cart is None:
        reference = obj.get("client_reference_id")
        if reference is not None and not isinstance(reference, str):
            raise UnusableEvent("client_reference_id is not text")
        raw_cart = reference
    intent = obj.get("payment_intent")
    details = obj.get("customer_details")
    details = details if isinstance(details, dict) else {}
    return SessionCopy(
        id=session_id,
        mode=_word(obj, "mode"),
        payment_status=_word(obj, "payment_status"),
        amount_cents=_amount(obj, "amount_total", required=False),
        currency=_currency(obj, required=False),
        cart_id=_metadata_int(raw_cart, "cart_id"),
        company_id=_metadata_int(metadata.get("company_id"), "company_id"),
        email=_text(details.get("email"), 254) or _text(obj.get("customer_email"), 254),
        payment_intent_id=None if intent is None else stripe_id(intent, "payment_intent", "pi_"),
    )
