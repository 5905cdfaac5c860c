"""The sending window (notifications.quiet_hours): 08:00–21:00 in the number's local time,
across daylight-saving changes, for numbers with one zone, several, or none known."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storefront.notifications.phones import number_zones
from storefront.notifications.quiet_hours import (
    DEFAULT_WINDOW,
    OutsideSendingWindow,
    SendingWindow,
    check_window,
    next_send_time,
)

AUSTIN = "+15125550100"  # America/Chicago
LONDON = "+442079460123"  # Europe/London
SYDNEY = "+61291234567"  # Australia/Sydney
TOLL_FREE = "+18005550100"  # 42 zones, Guam to Pago Pago
CHICAGO, NY = ZoneInfo("America/Chicago"), ZoneInfo("America/New_York")


def at(zone: ZoneInfo, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)


def test_the_numbers_zones_come_from_phonenumbers():
    assert number_zones(AUSTIN) == ("America/Chicago",)
    assert number_zones(LONDON) == ("Europe/London",)
    assert number_zones(SYDNEY) == ("Australia/Sydney",)
    assert len(number_zones(TOLL_FREE)) > 10
    assert number_zones("+447700900123") == ()  # a reserved drama number: no zone known


def test_inside_the_window_is_sent_as_wanted_with_the_reason():
    wanted = at(CHICAGO, 2025, 7, 1, 14, 5)
    slot = next_send_time(AUSTIN, wanted)
    assert slot.at == wanted and not slot.moved and slot.zone == "America/Chicago"
    assert slot.reason == "Tue 2025-07-01 14:05 CDT (America/Chicago) is inside the sending window 08:00–21:00"


def test_late_evening_moves_to_eight_the_next_morning():
    slot = next_send_time(AUSTIN, at(CHICAGO, 2025, 7, 1, 22, 40))
    assert slot.at == at(CHICAGO, 2025, 7, 2, 8, 0) and slot.moved
    assert slot.reason == ("quiet hours: Tue 2025-07-01 22:40 CDT (America/Chicago) is outside the sending window "
                           "08:00–21:00; moved to Wed 2025-07-02 08:00 CDT (America/Chicago)")


@pytest.mark.parametrize(("local", "expected"), [
    ((8, 0), (8, 0)),  # the start is inside
    ((7, 59), (8, 0)),
    ((20, 59), (20, 59)),
    ((21, 0), None),  # the end is not: next morning
])
def test_the_edges_of_the_window(local, expected):
    wanted = at(CHICAGO, 2025, 7, 1, *local)
    slot = next_send_time(AUSTIN, wanted)
    assert slot.at == (at(CHICAGO, 2025, 7, 1, *expected) if expected else at(CHICAGO, 2025, 7, 2, 8, 0))


def test_spring_forward_keeps_eight_local_not_eight_standard():
    # 2025-03-09: Chicago jumps from 02:00 CST to 03:00 CDT. 01:30 CST moves to 08:00 CDT,
    # which is 13:00 UTC (not 14:00, as 08:00 CST would be).
    slot = next_send_time(AUSTIN, at(CHICAGO, 2025, 3, 9, 1, 30))
    assert slot.at == datetime(2025, 3, 9, 13, 0, tzinfo=UTC)
    assert "Sun 2025-03-09 01:30 CST" in slot.reason and "Sun 2025-03-09 08:00 CDT" in slot.reason


def test_fall_back_keeps_eight_local_and_the_repeated_hour_is_quiet():
    # 2025-11-02: Chicago repeats 01:00–02:00; both 01:30s are quiet hours; 08:00 CST = 14:00 UTC.
    first = datetime(2025, 11, 2, 6, 30, tzinfo=UTC)  # 01:30 CDT
    second = datetime(2025, 11, 2, 7, 30, tzinfo=UTC)  # 01:30 CST
    for wanted in (first, second):
        assert next_send_time(AUSTIN, wanted).at == datetime(2025, 11, 2, 14, 0, tzinfo=UTC)
    # 20:30 local the evening before the change is still inside (01:30 UTC, CDT).
    assert not next_send_time(AUSTIN, datetime(2025, 11, 2, 1, 30, tzinfo=UTC)).moved


def test_southern_and_european_changes_are_each_their_own():
    # Sydney leaves daylight time on 2025-04-06 (03:00 AEDT -> 02:00 AEST): 08:00 is 22:00 UTC before.
    slot = next_send_time(SYDNEY, datetime(2025, 4, 5, 12, 0, tzinfo=UTC))  # 23:00 AEDT Saturday
    assert slot.at == datetime(2025, 4, 5, 22, 0, tzinfo=UTC)  # Sunday 08:00 AEST
    assert "AEST (Australia/Sydney)" in slot.reason
    # London springs forward on 2025-03-30: 08:00 BST is 07:00 UTC.
    assert next_send_time(LONDON, datetime(2025, 3, 30, 0, 30, tzinfo=UTC)).at == datetime(2025, 3, 30, 7, tzinfo=UTC)


def test_a_number_with_several_zones_needs_the_window_in_all_of_them():
    # At 17:00 UTC it is 13:00 in New York but 07:00 in Honolulu and 03:00 in Guam.
    wanted = datetime(2025, 7, 1, 17, 0, tzinfo=UTC)
    slot = next_send_time(TOLL_FREE, wanted)
    assert slot.moved and slot.at > wanted
    for name in number_zones(TOLL_FREE):
        local = slot.at.astimezone(ZoneInfo(name)).time()
        assert time(8) <= local < time(21), name
    assert slot.reason.startswith("the number has 42 time zones") and "latest start, earliest end" in slot.reason


def test_no_common_hour_falls_back_to_the_merchants_zone_and_says_so():
    narrow = SendingWindow(time(9), time(11))
    slot = next_send_time(TOLL_FREE, datetime(2025, 7, 1, 3, 0, tzinfo=UTC), narrow, fallback_zone="America/New_York")
    assert slot.at == at(NY, 2025, 7, 1, 9, 0)
    assert "no hour lies inside 09:00–11:00 in all 42 of the number's time zones" in slot.reason
    assert "America/New_York is used" in slot.reason


def test_an_unknown_zone_uses_the_fallback():
    slot = next_send_time("+447700900123", datetime(2025, 1, 10, 3, 0, tzinfo=UTC), fallback_zone="America/New_York")
    assert slot.at == at(NY, 2025, 1, 10, 8, 0)
    assert slot.reason.startswith("the number's time zone is unknown, so America/New_York is used")


def test_the_merchant_can_narrow_but_never_widen_the_window():
    narrow = SendingWindow.parse("10:00", "18:30")
    assert next_send_time(AUSTIN, at(CHICAGO, 2025, 7, 1, 9, 0), narrow).at == at(CHICAGO, 2025, 7, 1, 10, 0)
    assert next_send_time(AUSTIN, at(CHICAGO, 2025, 7, 1, 18, 30), narrow).at == at(CHICAGO, 2025, 7, 2, 10, 0)
    for start, end in (("07:00", "21:00"), ("08:00", "22:00"), ("12:00", "12:00"), ("15:00", "09:00")):
        with pytest.raises(ValueError, match="08:00–21:00"):
            SendingWindow.parse(start, end)
    with pytest.raises(ValueError):
        SendingWindow.parse("noon", "18:00")


def test_check_window_raises_with_the_next_slot():
    with pytest.raises(OutsideSendingWindow) as refused:
        check_window(AUSTIN, at(CHICAGO, 2025, 7, 1, 23, 0))
    assert refused.value.slot.at == at(CHICAGO, 2025, 7, 2, 8, 0)
    assert check_window(AUSTIN, at(CHICAGO, 2025, 7, 1, 12, 0)).at == at(CHICAGO, 2025, 7, 1, 12, 0)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        next_send_time(AUSTIN, datetime(2025, 7, 1, 12, 0))


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)),
       number=st.sampled_from([AUSTIN, LONDON, SYDNEY, "+4915112345678", "+33612345678", "+5511912345678"]),
       hours=st.sampled_from([(8, 21), (9, 17), (12, 13), (20, 21)]))
def test_the_slot_is_never_before_the_wish_never_in_quiet_hours_and_never_late(moment, number, hours):
    window = SendingWindow(time(hours[0]), time(hours[1]))
    wanted = moment.replace(tzinfo=UTC)
    slot = next_send_time(number, wanted, window)
    zone = ZoneInfo(number_zones(number)[0])
    local = slot.at.astimezone(zone)
    assert slot.at >= wanted
    assert window.start <= local.time() < window.end
    assert slot.moved == (slot.at != wanted)
    if slot.moved:  # a moved send goes at the first allowed minute: the window's start
        assert local.time() == window.start and slot.at - wanted < timedelta(days=2)


def test_default_window_is_eight_to_nine():
    assert DEFAULT_WINDOW.label == "08:00–21:00"
