"""The checkout churn risk (recovery.churn): each signal's part, its caps, the threshold
and the friction that picks the save, and the signals read from a checkout's events; the
detector's report (recovery.churn_report): outcomes, precision and the false-positive alert."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storefront.recovery import churn
from storefront.recovery.churn import ChurnSignals, Event, churn_risk, signals_from_events
from storefront.recovery.churn_report import ChurnFigures, classify

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_calm_checkout_scores_zero_and_names_no_friction():
    risk = churn_risk(ChurnSignals(form_ms=60_000, payment_idle_ms=10_000, validation_errors=0))
    assert risk.score == 0 and risk.parts == () and risk.friction is None and not risk.is_high()


@pytest.mark.parametrize(("signals", "parts"), [
    (ChurnSignals(exit_intent=True), {"EXIT": 30}),
    (ChurnSignals(payment_idle_ms=37_500), {"PAYMENT": 13}),  # 12.5 rounds half up
    (ChurnSignals(payment_idle_ms=60_000), {"PAYMENT": 25}),
    (ChurnSignals(payment_idle_ms=10 * 60_000), {"PAYMENT": 25}),  # capped
    (ChurnSignals(validation_errors=1), {"ERRORS": 7}),
    (ChurnSignals(validation_errors=30), {"ERRORS": 20}),
    (ChurnSignals(tab_switches=2), {"TABS": 10}),
    (ChurnSignals(tab_switches=9), {"TABS": 15}),
    (ChurnSignals(form_ms=3 * 60_000), {}),  # an ordinary checkout's length adds nothing
    (ChurnSignals(form_ms=6 * 60_000 + 30_000), {"TIME": 5}),
    (ChurnSignals(form_ms=60 * 60_000), {"TIME": 10}),
    (ChurnSignals(validation_errors=-4, tab_switches=-1, form_ms=-5), {}),
])
def test_each_signal_adds_its_capped_part(signals, parts):
    risk = churn_risk(signals)
    assert dict(risk.parts) == parts and risk.score == sum(parts.values())


def test_every_signal_at_once_is_one_hundred():
    risk = churn_risk(ChurnSignals(True, 60_000, 3, 3, 10 * 60_000))
    assert risk.score == 100
    assert [key for key, _ in risk.parts] == ["EXIT", "PAYMENT", "ERRORS", "TABS", "TIME"]


def test_no_single_signal_reaches_the_threshold_but_exit_with_a_second_does():
    singles = [ChurnSignals(exit_intent=True), ChurnSignals(payment_idle_ms=10**7), ChurnSignals(validation_errors=99),
               ChurnSignals(tab_switches=99), ChurnSignals(form_ms=10**8)]
    assert max(churn_risk(s).score for s in singles) < churn.DEFAULT_THRESHOLD
    both = churn_risk(ChurnSignals(exit_intent=True, validation_errors=3))
    assert both.score == 50 and both.is_high() and both.friction == "EXIT"
    assert not both.is_high(51)


def test_payment_idling_as_the_largest_part_is_payment_friction():
    risk = churn_risk(ChurnSignals(payment_idle_ms=90_000, validation_errors=3, tab_switches=1))
    assert risk.friction == "PAYMENT" and risk.score == 25 + 20 + 5
    assert risk.reasons_text() == "idle on the card fields 25, repeated form errors 20, switched tabs 5"


def at(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_signals_from_a_checkouts_events():
    events = [
        Event("FOCUS", "customer", None, at(400)),
        Event("BLUR", "customer", 4000, at(396)),
        Event("VALIDATION_ERROR", "customer", None, at(395)),
        Event("VALIDATION_ERROR", "shipping", None, at(300)),
        Event("TAB_HIDDEN", "page", None, at(200)),
        Event("TAB_VISIBLE", "page", None, at(150)),
        Event("FOCUS", "payment", None, at(120)),
        Event("BLUR", "payment", 20_000, at(100)),
        Event("EXIT_INTENT", "page", None, at(10)),
    ]
    signals = signals_from_events(reversed(events), NOW)  # any order
    assert signals == ChurnSignals(exit_intent=True, payment_idle_ms=20_000, validation_errors=2, tab_switches=1,
                                   form_ms=400_000)


def test_a_shopper_still_on_the_card_field_idles_until_now():
    events = [Event("FOCUS", "payment", None, at(50)), Event("BLUR", "payment", 5000, at(45)),
              Event("FOCUS", "payment", None, at(40))]
    assert signals_from_events(events, NOW).payment_idle_ms == 40_000
    assert signals_from_events([], NOW) == ChurnSignals()


# ---- the detector's report (recovery.churn_report): outcomes, precision, the alert ----


@pytest.mark.parametrize(("response", "result", "outcome"), [
    (None, None, None), ("ACCEPTED", None, None), ("IGNORED", None, None),
    (None, "ABANDONED", "abandoned"), ("ACCEPTED", "ABANDONED", "abandoned"),
    ("ACCEPTED", "BOUGHT", "saved"), ("IGNORED", "BOUGHT", "bought_anyway"), (None, "BOUGHT", "bought_anyway"),
])
def test_each_save_is_classified_by_what_the_shopper_did(response, result, outcome):
    assert classify(response, result) == outcome


def test_precision_and_false_positives_count_only_saves_with_an_outcome():
    figures = ChurnFigures(flagged=12, accepted=4, abandoned=5, saved=2, bought_anyway=3)
    assert (figures.decided, figures.waiting) == (10, 2)
    assert figures.precision == 0.7 and figures.false_positive_rate == 0.3
    assert ChurnFigures(flagged=3).precision is None and ChurnFigures().false_positive_rate is None


@pytest.mark.parametrize(("abandoned", "bought_anyway", "alert"), [
    (7, 3, False),   # 30 % is not over 30 %
    (6, 4, True),    # 40 % of 10
    (2, 7, False),   # 78 %, but only 9 outcomes: too few to judge
    (0, 10, True),
])
def test_the_alert_needs_over_thirty_percent_of_at_least_ten_outcomes(abandoned, bought_anyway, alert):
    figures = ChurnFigures(flagged=abandoned + bought_anyway, abandoned=abandoned, bought_anyway=bought_anyway)
    assert (figures.alert is not None) == alert
