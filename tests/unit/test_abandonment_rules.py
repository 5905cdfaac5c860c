"""The abandonment reason rules (an ordered table: the first match wins) and the facts
derived from field events."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from storefront.checkout.fields import FIELD_NAMES, REQUIRED
from storefront.leads.abandonment import INTERVENTIONS, REASONS, Facts, classify, summarise

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GROUPS = {"email": "customer", "phone": "customer", "first_name": "customer", "last_name": "customer",
          "address1": "shipping", "address2": "shipping", "city": "shipping", "postcode": "shipping",
          "country": "shipping", "card": "payment", "card_number": "payment", "page": "page"}
ALL_REQUIRED = tuple(n for n in FIELD_NAMES if n in REQUIRED)


def ev(seconds, kind, name, focus_ms=None, error=None):
    return SimpleNamespace(event_type=kind, field_name=name, field_group=GROUPS[name],
                           focus_ms=focus_ms, error_message=error, occurred_at=T0 + timedelta(seconds=seconds))


def test_every_reason_has_an_intervention():
    assert set(INTERVENTIONS) == set(REASONS)
    assert all(INTERVENTIONS[r] for r in REASONS)


@pytest.mark.parametrize(("facts", "reason"), [
    # 1 TECHNICAL_ERROR: a processing error, or 3 errors on one field.
    (Facts(payment_failed=True, payment_error_code="processing_error"), "TECHNICAL_ERROR"),
    (Facts(validation_errors={"phone": {"count": 3, "message": "Enter a valid phone number."}}), "TECHNICAL_ERROR"),
    # 2 PAYMENT_FRICTION: a decline, or the card touched.
    (Facts(payment_failed=True, payment_error_code="card_declined"), "PAYMENT_FRICTION"),
    (Facts(payment_failed=True), "PAYMENT_FRICTION"),
    (Facts(payment_touched=True, completed_fields=ALL_REQUIRED), "PAYMENT_FRICTION"),
    # 3 PRICE_SHOCK: everything in (the full total shown), card never touched.
    (Facts(completed_fields=ALL_REQUIRED, completion_pct=88), "PRICE_SHOCK"),
    # 4 COMPARISON_SHOPPING: 3+ visits, never bought.
    (Facts(visits=3), "COMPARISON_SHOPPING"),
    (Facts(visits=5, visitor_purchased=True), "UNKNOWN"),
    (Facts(visits=2), "UNKNOWN"),
    # 5 TRUST_CONCERN: cleared a contact field, or stuck on it uncaptured for 5 s+.
    (Facts(cleared_contact=True), "TRUST_CONCERN"),
    (Facts(last_active_field="phone", completed_fields=("email",), last_field_ms=6000), "TRUST_CONCERN"),
    (Facts(last_active_field="phone", completed_fields=("email",), last_field_ms=4000), "UNKNOWN"),
    (Facts(last_active_field="phone", completed_fields=("email", "phone"), last_field_ms=9000), "UNKNOWN"),
    # 6 DISTRACTION: 2+ tab switches, or left by hiding the tab without exit intent.
    (Facts(tab_switches=2), "DISTRACTION"),
    (Facts(tab_switches=1, last_event_type="TAB_HIDDEN"), "DISTRACTION"),
    (Facts(tab_switches=1, last_event_type="TAB_HIDDEN", exit_intent=True), "UNKNOWN"),
    # 7 FORM_FATIGUE: mid-form after 90 s, or after 2+ validation errors.
    (Facts(completion_pct=44, total_form_ms=95_000), "FORM_FATIGUE"),
    (Facts(completion_pct=33, validation_errors={"email": {"count": 1}, "postcode": {"count": 1}}), "FORM_FATIGUE"),
    (Facts(completion_pct=22, total_form_ms=200_000), "UNKNOWN"),
    (Facts(completion_pct=44, total_form_ms=30_000), "UNKNOWN"),
    # 8 UNKNOWN.
    (Facts(), "UNKNOWN"),
])
def test_each_rule(facts, reason):
    assert classify(facts) == reason


def test_rules_apply_in_table_order():
    # A technical error wins over a decline and everything after it.
    assert classify(Facts(payment_failed=True, payment_error_code="api_error", visits=9, tab_switches=5)) == "TECHNICAL_ERROR"
    # Touching the card wins over "everything in" (price shock) and comparison shopping.
    assert classify(Facts(payment_touched=True, completed_fields=ALL_REQUIRED, visits=4)) == "PAYMENT_FRICTION"
    # Price shock wins over comparison shopping and distraction.
    assert classify(Facts(completed_fields=ALL_REQUIRED, visits=4, tab_switches=3)) == "PRICE_SHOCK"
    # Comparison shopping wins over trust, distraction and fatigue.
    assert classify(Facts(visits=3, cleared_contact=True, tab_switches=3, completion_pct=50,
                          total_form_ms=100_000)) == "COMPARISON_SHOPPING"
    # Trust wins over distraction; distraction over fatigue.
    assert classify(Facts(cleared_contact=True, tab_switches=3)) == "TRUST_CONCERN"
    assert classify(Facts(tab_switches=2, completion_pct=50, total_form_ms=100_000)) == "DISTRACTION"


def test_summarise_a_shopper_who_stopped_at_the_card():
    events = [
        ev(0, "FOCUS", "email"), ev(8, "BLUR", "email", focus_ms=8000),
        ev(9, "FOCUS", "phone"), ev(12, "VALIDATION_ERROR", "phone", error="Enter a valid phone number."),
        ev(20, "BLUR", "phone", focus_ms=11_000),
        ev(21, "FOCUS", "address1"), ev(40, "BLUR", "address1", focus_ms=19_000),
        ev(41, "FOCUS", "card_number"), ev(50, "BLUR", "card_number", focus_ms=9000),
        ev(51, "FOCUS", "card_number"),
        ev(55, "TAB_HIDDEN", "page"), ev(70, "TAB_VISIBLE", "page"), ev(90, "EXIT_INTENT", "page"),
    ]
    completed = ["email", "phone", "first_name", "last_name", "address1", "city", "postcode", "country"]

    facts = summarise(events, completed, checkout_started=True)

    assert facts["stage"] == "PAYMENT" and facts["section"] == "payment"
    assert facts["last_active_field"] == "card_number"
    assert facts["completed_sections"] == ("customer", "shipping")
    assert facts["completion_pct"] == 8 * 100 // 9
    # 8 + 11 + 19 + 9 s of blurs, plus the open focus: 51 s → last field event at 51 s (0 s).
    assert facts["total_form_ms"] == 47_000
    assert facts["last_field_ms"] == 9000
    # From the last field event (51 s) to the last sign on the page (exit intent, 90 s).
    assert facts["idle_ms"] == 39_000
    assert facts["validation_errors"] == {"phone": {"count": 1, "message": "Enter a valid phone number."}}
    assert facts["exit_intent"] is True and facts["tab_switches"] == 1
    assert facts["payment_touched"] is True and facts["last_event_type"] == "EXIT_INTENT"
    assert classify(Facts(**facts)) == "PAYMENT_FRICTION"


def test_summarise_without_events_uses_the_lead_and_sections():
    facts = summarise([], ["email"], fallback_field="email", checkout_started=True)
    assert facts["stage"] == "CHECKOUT" and facts["section"] == "customer"
    assert facts["last_active_field"] == "email" and facts["completed_sections"] == ()
    assert facts["total_form_ms"] == 0 and facts["idle_ms"] == 0

    cart_only = summarise([], [], checkout_started=False)
    assert cart_only["stage"] == "CART" and cart_only["section"] is None

    shipping_next = summarise([], ["email", "first_name", "last_name"], checkout_started=True)
    assert shipping_next["section"] == "shipping" and shipping_next["completed_sections"] == ("customer",)


def test_a_contact_field_cleared_then_filled_again_is_no_doubt():
    events = [ev(0, "FOCUS", "phone"), ev(3, "CLEAR", "phone"), ev(9, "BLUR", "phone", focus_ms=9000)]
    assert summarise(events, ["email", "phone"], checkout_started=True)["cleared_contact"] is False
    assert summarise(events, ["email"], checkout_started=True)["cleared_contact"] is True


def test_summarise_trust_signals():
    events = [ev(0, "FOCUS", "email"), ev(3, "INPUT", "email"), ev(6, "CLEAR", "email"),
              ev(12, "BLUR", "email", focus_ms=12_000), ev(13, "TAB_HIDDEN", "page")]
    facts = summarise(events, [], checkout_started=True)
    assert facts["cleared_contact"] and facts["last_active_field"] == "email"
    assert facts["idle_ms"] == 1000 and facts["last_event_type"] == "TAB_HIDDEN"
    assert classify(Facts(**facts)) == "TRUST_CONCERN"
