"""The cart-save flow's pure rules: the default plan counted from the last activity, stages
left out with their reason, quiet hours moving a text, stage settings validated on write,
and the stop rules checked at send time."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storefront.recovery import stages as flow
from storefront.recovery.stops import CANCEL_ONE, PAUSE, SEND, STOP_ATTEMPT, Facts, decide

LEFT = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 10:00 in Austin (CDT)
AUSTIN = "+15125550100"


def test_default_flow_counts_every_delay_from_the_last_activity():
    planned, skipped = flow.plan(flow.default_stages(), LEFT, LEFT + timedelta(minutes=20), cart_cents=15_000,
                                 email="jane@example.test", phone=AUSTIN)
    assert [(s.stage, s.channel, s.at - LEFT, s.offer_percent) for s in planned] == [
        ("REMINDER_EMAIL", "EMAIL", timedelta(hours=1), 0),
        ("SMS_NUDGE", "SMS", timedelta(hours=4), 0),
        ("INCENTIVE_EMAIL", "EMAIL", timedelta(hours=24), 10),
        ("VOICE_CALL", "VOICE", timedelta(hours=48), 0),
        ("FINAL_OFFER_EMAIL", "EMAIL", timedelta(hours=72), 15),
    ]
    assert planned[-1].offer_hours == 24 and skipped == []
    assert planned[0].reason == "1 h after the shopper's last activity"


def test_stages_without_an_address_or_under_the_minimum_are_left_out_with_a_reason():
    planned, skipped = flow.plan(flow.default_stages(), LEFT, LEFT, cart_cents=5_000, email="jane@example.test",
                                 phone=None)
    assert [s.stage for s in planned] == ["REMINDER_EMAIL", "INCENTIVE_EMAIL", "FINAL_OFFER_EMAIL"]
    assert {s.stage: s.reason for s in skipped} == {"SMS_NUDGE": "no phone number", "VOICE_CALL": "no phone number"}
    planned, skipped = flow.plan(flow.default_stages(), LEFT, LEFT, cart_cents=5_000, email=None, phone=AUSTIN)
    assert [s.stage for s in planned] == ["SMS_NUDGE"]
    assert ("VOICE_CALL", "cart below the stage's minimum of 10000 cents") in [(s.stage, s.reason) for s in skipped]


def test_a_text_due_in_quiet_hours_moves_to_the_next_window_and_says_why():
    late = datetime(2026, 6, 2, 23, 30, tzinfo=UTC)  # 18:30 in Austin: +4 h is 22:30, after 21:00
    planned, _ = flow.plan(flow.default_stages(), late, late, cart_cents=1_000, email=None, phone=AUSTIN)
    sms = planned[0]
    assert sms.at == datetime(2026, 6, 3, 13, 0, tzinfo=UTC)  # 08:00 CDT the next morning
    assert "quiet hours" in sms.reason and "America/Chicago" in sms.reason


def test_a_shopper_who_left_long_ago_gets_the_latest_due_message_not_all_at_once():
    now = LEFT + timedelta(hours=30)
    planned, skipped = flow.plan(flow.default_stages(), LEFT, now, cart_cents=1_000, email="j@example.test", phone=None)
    assert [s.stage for s in planned] == ["INCENTIVE_EMAIL", "FINAL_OFFER_EMAIL"]
    assert [s.stage for s in skipped] == ["SMS_NUDGE", "VOICE_CALL", "REMINDER_EMAIL"]


def test_stage_settings_are_validated_on_write_with_every_error_at_once():
    stages = flow.default_stages()
    flow.stage_config(stages, "SMS_NUDGE")["channel"] = "FAX"
    flow.stage_config(stages, "INCENTIVE_EMAIL")["offer_percent"] = 90
    flow.stage_config(stages, "FINAL_OFFER_EMAIL")["delay_minutes"] = 10
    flow.stage_config(stages, "REMINDER_EMAIL")["delay_minutes"] = True
    with pytest.raises(flow.StageConfigError) as caught:
        flow.validate_stages(stages + [{"stage": "SPAM"}])
    assert set(caught.value.errors) == {"SMS_NUDGE.channel", "INCENTIVE_EMAIL.offer_percent",
                                        "FINAL_OFFER_EMAIL.delay_minutes", "REMINDER_EMAIL.delay_minutes",
                                        "SPAM.stage"}
    with pytest.raises(flow.StageConfigError):
        flow.validate_stages({"stage": "REMINDER_EMAIL"})
    assert flow.validate_stages([]) == flow.default_stages()
    turned_off = flow.validate_stages([{"stage": "VOICE_CALL", "enabled": False, "delay_minutes": 1}])
    assert flow.stage_config(turned_off, "VOICE_CALL") == {**flow.stage_config(flow.default_stages(), "VOICE_CALL"),
                                                           "enabled": False, "delay_minutes": 1}


def facts(**changes) -> Facts:
    values = {"channel": "EMAIL", "cart_status": "ABANDONED", "line_count": 2, "order_id": None,
              "lead_erased": False, "reachable": True, **changes}
    return Facts(**values)


@pytest.mark.parametrize(("changes", "action", "status"), [
    ({}, SEND, None),
    ({"order_id": 7}, STOP_ATTEMPT, "CONVERTED"),
    ({"order_id": 7, "cart_status": "ACTIVE", "reachable": False}, STOP_ATTEMPT, "CONVERTED"),
    ({"cart_status": "CONVERTED"}, STOP_ATTEMPT, "CONVERTED"),
    ({"lead_erased": True}, STOP_ATTEMPT, "EXPIRED"),
    ({"opted_out": True}, STOP_ATTEMPT, "EXPIRED"),
    ({"cart_status": "MERGED"}, STOP_ATTEMPT, "EXPIRED"),
    ({"cart_status": "EXPIRED"}, STOP_ATTEMPT, "EXPIRED"),
    ({"line_count": 0}, STOP_ATTEMPT, "EXPIRED"),
    ({"cart_status": "ACTIVE"}, PAUSE, None),
    ({"reachable": False}, CANCEL_ONE, None),
    ({"reachable": False, "channel": "SMS"}, CANCEL_ONE, None),
])
def test_stop_rules_at_send_time(changes, action, status):
    decision = decide(facts(**changes))
    assert (decision.action, decision.attempt_status) == (action, status)
    assert decision.action == SEND or decision.reason
