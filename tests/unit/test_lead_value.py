"""Lead value (the seed's calculateLeadValue) and the lead scores, worked through by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.checkout.fields import FIELD_NAMES
from storefront.leads import value as lv
from storefront.leads.value import (
    Signals,
    ValueInputs,
    calculate_lead_value,
    value_breakdown,
    value_config,
)

STOPPED_AT_CARD = frozenset({"email", "phone", "first_name", "last_name", "address1", "city",
                             "postcode", "country"})


def test_worked_example_lead_that_stopped_at_card_number():
    """The seed's example: a shopper typed everything up to the card and stopped at
    ``card_number``, with $120.00 in the cart, having reached checkout, highly engaged.

    fields     email 50 + phone 100 + first name 25 + last name 25 + address 150 = 350 ¢
               (address counts once, for address1; city, postcode, country add nothing)
    cart       0.05 × 12,000 ¢                                                  = 600 ¢
    base       350 + 600                                                        = 950 ¢
    journey    reached checkout ×2.0 (not also ×1.5 for the cart)      950 × 2.0 = 1,900 ¢
    engagement high (score ≥ 0.7) ×1.25                             1,900 × 1.25 = 2,375 ¢
    value      round half up once                                               = 2,375 ¢ = $23.75
    """
    inputs = ValueInputs(captured_fields=STOPPED_AT_CARD, cart_value_cents=12_000,
                         reached_checkout=True, added_to_cart=True, engagement_score=0.82)

    steps = value_breakdown(inputs)

    assert steps["earned"] == ["address", "email", "first_name", "last_name", "phone"]
    assert steps["fields_cents"] == Decimal(350)
    assert steps["cart_cents"] == Decimal(600)
    assert steps["journey_multiplier"] == Decimal("2.0")
    assert steps["engagement_multiplier"] == Decimal("1.25")
    assert steps["exact_cents"] == Decimal(2375)
    assert calculate_lead_value(inputs) == 2375
    assert isinstance(calculate_lead_value(inputs), int)


def test_added_to_cart_only_and_no_journey():
    """email 50 + 0.05 × 4,000 = 250 ¢; ×1.5 in a cart = 375 ¢; ×1.0 without = 250 ¢."""
    in_cart = ValueInputs(captured_fields=frozenset({"email"}), cart_value_cents=4000, added_to_cart=True)
    assert calculate_lead_value(in_cart) == 375
    assert calculate_lead_value(ValueInputs(captured_fields=frozenset({"email"}), cart_value_cents=4000)) == 250


def test_phone_only_lead_without_engagement():
    """phone 100 + 0.05 × 2,000 = 200 ¢; reached checkout ×2.0 = 400 ¢; engagement 0.69 is
    not high, so ×1.0."""
    inputs = ValueInputs(captured_fields=frozenset({"phone"}), cart_value_cents=2000,
                         reached_checkout=True, added_to_cart=True, engagement_score=0.69)
    assert calculate_lead_value(inputs) == 400


def test_rounds_half_up_once_at_the_end():
    """Cart 10 ¢ × 0.05 = 0.5 ¢, ×1.5 in a cart = 0.75 ¢ → 1 ¢. Rounding each step would give
    round(0.5) = 1, × 1.5 = 1.5 → 2 ¢: the value rounds once, at the end."""
    assert calculate_lead_value(ValueInputs(frozenset(), cart_value_cents=10, added_to_cart=True)) == 1
    # Exactly half a cent rounds up: 0.05 × 10 = 0.5 → 1; 0.05 × 9 = 0.45 → 0.
    assert calculate_lead_value(ValueInputs(frozenset(), cart_value_cents=10)) == 1
    assert calculate_lead_value(ValueInputs(frozenset(), cart_value_cents=9)) == 0


def test_high_engagement_threshold_is_point_seven():
    base = {"captured_fields": frozenset({"email"})}
    assert calculate_lead_value(ValueInputs(**base, engagement_score=0.7)) == 63  # 50 × 1.25 = 62.5 → 63
    assert calculate_lead_value(ValueInputs(**base, engagement_score=0.6999)) == 50
    assert lv.is_high_engagement(0.7) and not lv.is_high_engagement(0.69)


def test_company_overrides_and_invalid_ones_ignored():
    """email 200 + phone 100 + 0.1 × 1,000 = 400 ¢; ×3 at checkout = 1,200 ¢."""
    config = value_config({"email": 200, "reached_checkout": 3, "cart_factor": "0.1",
                           "phone": "abc", "address": True, "first_name": -5, "last_name": 2.5,
                           "unknown": 9, "high_engagement": float("inf")})
    assert config["email"] == 200 and config["reached_checkout"] == 3 and config["cart_factor"] == Decimal("0.1")
    # Invalid values fall back to the defaults.
    for key in ("phone", "address", "first_name", "last_name", "high_engagement"):
        assert config[key] == lv.DEFAULTS[key]
    inputs = ValueInputs(frozenset({"email", "phone"}), cart_value_cents=1000, reached_checkout=True)
    assert calculate_lead_value(inputs, config) == 1200


def test_validate_value_config_for_an_admin_form():
    clean, errors = lv.validate_value_config({"email": "75", "cart_factor": 2, "added_to_cart": "1.2",
                                              "nope": 1, "phone": 10.5})
    assert clean == {"email": 75, "added_to_cart": 1.2}
    assert set(errors) == {"cart_factor", "nope", "phone"}


def test_engagement_score_rules():
    """0.5 × completion + 0.3 × touched + 0.2 × time (a minute of focus counts fully)."""
    every = len(FIELD_NAMES)
    assert lv.engagement_score(Signals()) == 0.0
    # 4 of 9 fields captured (44 %), 6 focused, 30 s: 0.5 × 0.44 + 0.3 × 6/9 + 0.2 × 0.5 = 0.52
    signals = Signals(completion_pct=44, captured_fields=frozenset({"email", "phone", "first_name", "last_name"}),
                      fields_touched=6, focus_ms=30_000)
    assert lv.engagement_score(signals) == pytest.approx(0.52, abs=1e-4)
    # No JavaScript: captured fields count as touched; everything in and a minute: 1.0.
    full = Signals(completion_pct=100, captured_fields=frozenset(FIELD_NAMES), focus_ms=90_000)
    assert lv.engagement_score(full) == 1.0
    assert lv.engagement_score(Signals(completion_pct=100, captured_fields=frozenset(FIELD_NAMES))) == 0.8
    assert every == 9


def test_purchase_intent_and_risk_rules():
    signals = Signals(completion_pct=50, added_to_cart=True, reached_checkout=True, payment_touched=True)
    assert lv.purchase_intent(signals) == pytest.approx(0.8)  # 0.2 + 0.2 + 0.4 × 0.5 + 0.2
    # 0.5 × 0.5 + 0.15 × min(3/2, 1) + 0.2 × exit + 0.15 × min(1/3, 1) = 0.25 + 0.15 + 0.2 + 0.05
    risky = Signals(completion_pct=50, tab_switches=3, exit_intent=True, validation_errors=1)
    assert lv.abandonment_risk(risky) == pytest.approx(0.65)
    assert lv.analysed_risk(risky) == pytest.approx(0.7 + 0.3 * 0.65)
    assert lv.abandonment_risk(Signals(completion_pct=100)) == 0.0
    assert lv.analysed_risk(Signals(completion_pct=100)) == pytest.approx(0.7)


def test_scores_stay_between_zero_and_one():
    wild = Signals(completion_pct=250, fields_touched=99, focus_ms=10**9, tab_switches=50,
                   exit_intent=True, validation_errors=40, added_to_cart=True, reached_checkout=True,
                   payment_touched=True)
    for score in (lv.engagement_score(wild), lv.purchase_intent(wild), lv.abandonment_risk(wild),
                  lv.analysed_risk(wild), lv.engagement_score(Signals(completion_pct=-20, focus_ms=-5))):
        assert 0.0 <= score <= 1.0
