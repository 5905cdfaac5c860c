"""The merchant's real-time save settings (recovery.stages, REALTIME stage): threshold,
which save and its text, validated with the rest of the flow; and the save chosen from
those settings and the shopper's signals (recovery.realtime.choose_kind)."""
from __future__ import annotations

import pytest

from storefront.recovery import churn, stages
from storefront.recovery.churn import ChurnSignals, churn_risk
from storefront.recovery.realtime import choose_kind

PAYING = churn_risk(ChurnSignals(payment_idle_ms=60_000, validation_errors=3, form_ms=10 * 60_000))  # card idling leads
LEAVING = churn_risk(ChurnSignals(exit_intent=True, validation_errors=3))  # exit intent leads


def realtime(**changes) -> dict:
    raw = [{**stages.DEFAULT_STAGES[0], **changes}]
    return stages.stage_config(stages.validate_stages(raw), stages.REALTIME)


def errors_of(**changes) -> dict:
    with pytest.raises(stages.StageConfigError) as caught:
        realtime(**changes)
    return caught.value.errors


def test_the_defaults_are_todays_save_at_fifty():
    stage = stages.stage_config(stages.default_stages(), stages.REALTIME)
    assert (stage["threshold"], stage["save"], stage["text"]) == (50, "AUTO", "")
    assert stages.DEFAULT_SAVE_THRESHOLD == churn.DEFAULT_THRESHOLD


def test_settings_stored_before_these_keys_existed_read_as_the_defaults():
    old = [{"stage": "REALTIME", "enabled": True, "delay_minutes": 0, "channel": "PAGE", "offer_percent": 5,
            "offer_hours": 24, "min_cart_cents": 0}]
    stage = stages.stage_config(stages.validate_stages(old), stages.REALTIME)
    assert (stage["threshold"], stage["save"], stage["text"]) == (50, "AUTO", "")


@pytest.mark.parametrize("threshold", [0, 101, -1, "50", 2.5, True, None])
def test_the_threshold_is_a_whole_number_from_1_to_100(threshold):
    assert errors_of(threshold=threshold) == {"REALTIME.threshold": "A churn risk from 1 to 100."}


@pytest.mark.parametrize("threshold", [1, 100, 73])
def test_thresholds_in_bounds_are_kept(threshold):
    assert realtime(threshold=threshold)["threshold"] == threshold


@pytest.mark.parametrize(("changes", "key"), [
    ({"save": "DISCOUNT"}, "REALTIME.save"),
    ({"save": None}, "REALTIME.save"),
    ({"text": "x" * 301}, "REALTIME.text"),
    ({"text": "a\x00b"}, "REALTIME.text"),
    ({"text": "two\nlines"}, "REALTIME.text"),
    ({"text": 5}, "REALTIME.text"),
    ({"save": "HELP", "text": "   "}, "REALTIME.text"),
    ({"save": "OFFER", "offer_percent": 0}, "REALTIME.offer_percent"),
])
def test_bad_save_settings_are_refused_by_name(changes, key):
    assert key in errors_of(**changes)


def test_text_is_kept_stripped_at_its_limit():
    assert realtime(save="HELP", text=" " + "y" * 300 + " ")["text"] == "y" * 300


@pytest.mark.parametrize(("risk", "percent", "kind"), [
    (PAYING, 5, "PAYMENT"),  # card idling dominates: payment help, not a discount
    (LEAVING, 5, "OFFER"),
    (LEAVING, 0, "REASSURANCE"),  # no offer configured
    (PAYING, 0, "PAYMENT"),
])
def test_automatic_keeps_the_rule(risk, percent, kind):
    assert PAYING.friction == "PAYMENT" and LEAVING.friction == "EXIT"
    assert choose_kind(realtime(offer_percent=percent), risk) == kind


@pytest.mark.parametrize("chosen", ["OFFER", "HELP", "REASSURANCE", "PAYMENT"])
@pytest.mark.parametrize("risk", [PAYING, LEAVING])
def test_a_chosen_save_is_shown_whatever_the_friction(chosen, risk):
    stage = realtime(save=chosen, text="Call us on 0800 123 456.", offer_percent=10)
    assert choose_kind(stage, risk) == chosen
