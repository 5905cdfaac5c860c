"""Lead value and lead scores: pure functions, no database.

Lead value (the seed's ``calculateLeadValue``), in integer cents::

    base       = Σ field values of the captured fields          (cents)
               + cart_factor × cart value                       (cents)
    journey    = reached_checkout (×2.0)  if the shopper reached the checkout,
                 else added_to_cart (×1.5) if the cart has items,
                 else ×1.0                                       (one of them, never both)
    engagement = high_engagement (×1.25) when engagement_score ≥ 0.7, else ×1.0
    value      = round_half_up(base × journey × engagement)

The arithmetic is exact (``Decimal``) and rounds once, at the end, half up to a whole cent:
the parts are never rounded on their own, so 0.5 cent never gets lost or counted twice.

Field values (cents) and their checkout fields: email 50 (``email``), phone 100
(``phone``), first name 25 (``first_name``), last name 25 (``last_name``), address 150
(counted once, when the street line ``address1`` is captured; city, postcode and country
add nothing on their own). A merchant overrides any of these, the multipliers or
``cart_factor`` in ``Company.lead_value_config`` (keys of ``DEFAULTS``; field values in
cents, the others plain numbers); an invalid override is ignored and the default used.

Scores, each from 0 to 1, from a lead's ``Signals`` (``clamp`` keeps them in range):

- ``engagement_score`` = 0.5 × completion + 0.3 × touched + 0.2 × time, where
  completion = completion_pct / 100; touched = the share of the form's fields the shopper
  focused (field events) or captured, whichever is more, so a shopper without JavaScript is
  not penalised; time = focused time on the form / 60 s, at most 1.
  **High engagement** is ``engagement_score ≥ 0.7`` (``HIGH_ENGAGEMENT_SCORE``).
- ``purchase_intent`` = 0.2 × added to cart + 0.2 × reached checkout + 0.4 × completion
  + 0.2 × touched a payment field.
- ``abandonment_risk`` while the shopper is active = 0.5 × (1 − completion)
  + 0.15 × min(tab switches / 2, 1) + 0.2 × exit intent + 0.15 × min(validation errors / 3, 1).
  Once the abandonment job has found the lead idle, ``analysed_risk`` = 0.7 + 0.3 × that.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from storefront.checkout.fields import FIELD_NAMES

log = logging.getLogger(__name__)

# Field values in cents, multipliers and the cart factor (the seed's defaults).
DEFAULTS: dict[str, Decimal] = {
    "email": Decimal("50"),
    "phone": Decimal("100"),
    "first_name": Decimal("25"),
    "last_name": Decimal("25"),
    "address": Decimal("150"),
    "reached_checkout": Decimal("2.0"),
    "added_to_cart": Decimal("1.5"),
    "high_engagement": Decimal("1.25"),
    "cart_factor": Decimal("0.05"),
}
FIELD_VALUE_KEYS = ("email", "phone", "first_name", "last_name", "address")
# Which checkout field earns which field value ("address" is earned by the street line).
VALUE_KEY_OF_FIELD = {"email": "email", "phone": "phone", "first_name": "first_name",
                      "last_name": "last_name", "address1": "address"}
HIGH_ENGAGEMENT_SCORE = 0.7
# Overrides above these are refused as typos (1,000,000 cents = 10,000.00 per field; ×100).
MAX_FIELD_VALUE_CENTS = Decimal("1000000")
MAX_MULTIPLIER = Decimal("100")


@dataclass(frozen=True)
class ValueInputs:
    """What the value depends on: captured checkout field names, the cart value in cents,
    the journey flags and the engagement score (0..1)."""

    captured_fields: frozenset[str]
    cart_value_cents: int = 0
    reached_checkout: bool = False
    added_to_cart: bool = False
    engagement_score: float = 0.0


def value_config(overrides: dict | None) -> dict[str, Decimal]:
    """The defaults with a company's valid overrides applied.

    Field values must be whole cents 0..1,000,000; multipliers 0..100; ``cart_factor`` 0..1.
    Unknown keys and invalid values are ignored (and logged), never raised: a bad setting
    must not break checkout.
    """
    config = dict(DEFAULTS)
    for key, raw in (overrides or {}).items():
        if key not in DEFAULTS:
            continue
        number = _decimal(raw)
        if number is None or number < 0 or not _within_bounds(key, number):
            log.warning("lead_value_config: ignoring %s=%r", key, raw)
            continue
        config[key] = number
    return config


def validate_value_config(raw: dict) -> tuple[dict, dict[str, str]]:
    """Check a merchant's overrides (e.g. from an admin form). Returns (clean, errors) where
    ``clean`` holds the valid keys as JSON numbers and ``errors`` maps key → message."""
    clean, errors = {}, {}
    for key, value in raw.items():
        if key not in DEFAULTS:
            errors[key] = "Unknown setting."
            continue
        number = _decimal(value)
        if number is None or number < 0 or not _within_bounds(key, number):
            errors[key] = ("Enter whole cents from 0 to 1000000." if key in FIELD_VALUE_KEYS
                           else "Enter a number from 0 to 1." if key == "cart_factor"
                           else "Enter a number from 0 to 100.")
            continue
        clean[key] = int(number) if key in FIELD_VALUE_KEYS else float(number)
    return clean, errors


def _decimal(raw) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _within_bounds(key: str, number: Decimal) -> bool:
    if key in FIELD_VALUE_KEYS:
        return number <= MAX_FIELD_VALUE_CENTS and number == number.to_integral_value()
    if key == "cart_factor":
        return number <= 1
    return number <= MAX_MULTIPLIER


def value_breakdown(inputs: ValueInputs, config: dict[str, Decimal] | None = None) -> dict:
    """Every step of the value, for tests and the admin: Decimals, and ``value_cents``."""
    config = config or DEFAULTS
    earned = sorted({VALUE_KEY_OF_FIELD[f] for f in inputs.captured_fields if f in VALUE_KEY_OF_FIELD})
    fields_cents = sum((config[key] for key in earned), Decimal(0))
    cart_cents = config["cart_factor"] * Decimal(max(inputs.cart_value_cents, 0))
    if inputs.reached_checkout:
        journey = config["reached_checkout"]
    elif inputs.added_to_cart:
        journey = config["added_to_cart"]
    else:
        journey = Decimal(1)
    high = inputs.engagement_score >= HIGH_ENGAGEMENT_SCORE
    engagement = config["high_engagement"] if high else Decimal(1)
    exact = (fields_cents + cart_cents) * journey * engagement
    return {
        "earned": earned, "fields_cents": fields_cents, "cart_cents": cart_cents,
        "journey_multiplier": journey, "high_engagement": high,
        "engagement_multiplier": engagement, "exact_cents": exact,
        "value_cents": int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
    }


def calculate_lead_value(inputs: ValueInputs, config: dict[str, Decimal] | None = None) -> int:
    """The lead's estimated value in whole cents (see the module docstring), ≥ 0."""
    return value_breakdown(inputs, config)["value_cents"]


# ---- scores ----------------------------------------------------------------------------

FORM_FIELD_COUNT = len(FIELD_NAMES)
FULL_TIME_MS = 60_000


@dataclass(frozen=True)
class Signals:
    """A lead's behaviour: ``completion_pct`` 0..100, captured field names, and the field
    events' aggregates (``focus_ms`` in milliseconds)."""

    completion_pct: int = 0
    captured_fields: frozenset[str] = field(default_factory=frozenset)
    fields_touched: int = 0
    focus_ms: int = 0
    payment_touched: bool = False
    tab_switches: int = 0
    exit_intent: bool = False
    validation_errors: int = 0
    added_to_cart: bool = False
    reached_checkout: bool = False


def clamp(score: float) -> float:
    """``score`` limited to 0..1 and rounded to 4 places (stable in the database)."""
    return round(min(1.0, max(0.0, score)), 4)


def _completion(signals: Signals) -> float:
    return min(max(signals.completion_pct, 0), 100) / 100


def engagement_score(signals: Signals) -> float:
    """0.5 × completion + 0.3 × fields touched + 0.2 × time on the form (0..1)."""
    captured = len(signals.captured_fields & set(FIELD_NAMES))
    touched = min(max(signals.fields_touched, captured), FORM_FIELD_COUNT) / FORM_FIELD_COUNT
    time = min(max(signals.focus_ms, 0) / FULL_TIME_MS, 1.0)
    return clamp(0.5 * _completion(signals) + 0.3 * touched + 0.2 * time)


def purchase_intent(signals: Signals) -> float:
    """0.2 × in cart + 0.2 × reached checkout + 0.4 × completion + 0.2 × touched payment."""
    return clamp(0.2 * signals.added_to_cart + 0.2 * signals.reached_checkout
                 + 0.4 * _completion(signals) + 0.2 * signals.payment_touched)


def abandonment_risk(signals: Signals) -> float:
    """The live risk: incomplete form, tab switches, exit intent and validation errors."""
    return clamp(0.5 * (1 - _completion(signals)) + 0.15 * min(signals.tab_switches / 2, 1.0)
                 + 0.2 * signals.exit_intent + 0.15 * min(signals.validation_errors / 3, 1.0))


def analysed_risk(signals: Signals) -> float:
    """The risk once the shopper has gone idle without ordering: 0.7 + 0.3 × live risk."""
    return clamp(0.7 + 0.3 * abandonment_risk(signals))


def is_high_engagement(score: float) -> bool:
    """True when ``score`` earns the high-engagement multiplier (≥ 0.7)."""
    return score >= HIGH_ENGAGEMENT_SCORE
