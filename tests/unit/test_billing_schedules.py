"""Retry schedules, payday detection on hand-built histories, decline classification (every
code of Stripe's list) and the customer's timezone: pure functions, no database."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storefront.billing import declines
from storefront.billing.customer_time import BankHolidays, customer_zone
from storefront.billing.payday import Preference, best_hour, best_weekday, detect_payday
from storefront.billing.schedule import Learned, RetrySettings, fixed_days, next_retry

CHICAGO = ZoneInfo("America/Chicago")
FAILED = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)  # Tuesday 3 March, 10:00 in Chicago
US = BankHolidays("US")

# Stripe's documented decline codes (https://docs.stripe.com/declines/codes), each with its class.
STRIPE_CODES = {
    "authentication_required": "HARD", "approve_with_id": "SOFT", "call_issuer": "SOFT",
    "card_not_supported": "HARD", "card_velocity_exceeded": "SOFT", "currency_not_supported": "HARD",
    "do_not_honor": "SOFT", "do_not_try_again": "HARD", "duplicate_transaction": "HARD",
    "expired_card": "HARD", "fraudulent": "HARD", "generic_decline": "SOFT", "incorrect_number": "HARD",
    "incorrect_cvc": "HARD", "incorrect_pin": "HARD", "incorrect_zip": "HARD", "insufficient_funds": "SOFT",
    "invalid_account": "HARD", "invalid_amount": "HARD", "invalid_cvc": "HARD", "invalid_expiry_month": "HARD",
    "invalid_expiry_year": "HARD", "invalid_number": "HARD", "invalid_pin": "HARD",
    "issuer_not_available": "NETWORK", "lost_card": "HARD", "merchant_blacklist": "HARD",
    "new_account_information_available": "HARD", "no_action_taken": "SOFT", "not_permitted": "HARD",
    "offline_pin_required": "HARD", "online_or_offline_pin_required": "HARD", "pickup_card": "HARD",
    "pin_try_exceeded": "HARD", "processing_error": "NETWORK", "reenter_transaction": "NETWORK",
    "restricted_card": "HARD", "revocation_of_all_authorizations": "HARD",
    "revocation_of_authorization": "HARD", "security_violation": "HARD", "service_not_allowed": "HARD",
    "stolen_card": "HARD", "stop_payment_order": "HARD", "testmode_decline": "HARD",
    "transaction_not_allowed": "HARD", "try_again_later": "SOFT", "withdrawal_count_limit_exceeded": "SOFT",
}


@pytest.mark.parametrize(("code", "expected"), sorted(STRIPE_CODES.items()))
def test_every_stripe_decline_code_is_classified(code, expected):
    assert declines.classify(code, "card_declined") == expected


def test_the_classifier_covers_exactly_stripes_list_and_reads_localstripes_decline():
    assert declines.ALL_CODES == set(STRIPE_CODES)
    assert declines.classify(None, "card_declined") == "SOFT"  # localstripe's only decline
    assert declines.classify(None, "expired_card") == "HARD"
    assert declines.classify(None, None, network=True) == "NETWORK"


def _days(*pairs):
    return [date(2026, month, day) for month, day in pairs]


def test_payday_on_the_15th_is_detected_with_its_support():
    # 15 Feb and 15 Mar 2026 are Sundays: those paydays move back to Friday the 13th.
    payday = detect_payday(_days((1, 15), (2, 13), (3, 14), (4, 15), (5, 29)), US)
    assert (payday.kind, payday.matched, payday.total) == ("DAY_15", 4, 5)
    assert payday.explain() == "15th = detected payday (4 of 5 past payments within 2 days)"


def test_the_first_of_the_month_moves_back_over_a_bank_holiday():
    # 1 Jan 2026 is New Year's Day (a Thursday): that payday is Wednesday 31 Dec 2025.
    payday = detect_payday([date(2025, 12, 31), *_days((4, 1), (5, 1), (6, 2))], US)
    assert payday.kind == "DAY_1" and payday.matched == 4
    assert payday.occurrences(date(2026, 12, 20), date(2027, 1, 10), US) == [date(2026, 12, 31)]


def test_last_business_day_and_biweekly_fridays():
    last = detect_payday(_days((1, 30), (2, 27), (3, 31), (4, 30)), US)
    assert last.kind == "LAST_BUSINESS_DAY"
    fridays = detect_payday(_days((1, 9), (1, 23), (2, 6), (2, 21), (3, 6)), US)
    assert fridays.kind == "BIWEEKLY_FRIDAY" and fridays.matched == 5
    assert fridays.occurrences(date(2026, 3, 7), date(2026, 3, 31), US) == [date(2026, 3, 20)]


def test_no_payday_in_an_irregular_or_short_history():
    assert detect_payday(_days((1, 7), (2, 19), (3, 24), (4, 10), (5, 4)), US) is None
    assert detect_payday(_days((1, 15), (2, 16)), US) is None


def test_best_hour_and_weekday_need_a_real_majority():
    times = [datetime(2026, 1, d, 10, tzinfo=CHICAGO) for d in (5, 12, 19)] + [datetime(2026, 1, 8, 21, tzinfo=CHICAGO)]
    assert best_hour(times, "customer") == Preference(10, 3, 4, "customer")
    assert best_weekday(times, "customer").value == 0  # Mondays
    assert best_hour(times[:1], "customer") is None


def test_fixed_follows_the_schedule_days_at_the_window_start_then_stops():
    settings = RetrySettings(retry_strategy="FIXED", fixed_schedule_days=(1, 3, 5, 7), max_retries=4)
    times = []
    for done in range(5):
        slot = next_retry(settings, retries_done=done, network_retries_done=0, decline_class="SOFT",
                          decline_code="insufficient_funds", first_failed_at=FAILED, last_attempt_at=FAILED,
                          now=FAILED, zone_name="America/Chicago")
        times.append(slot and slot.at.astimezone(CHICAGO))
    assert [(t.day, t.hour) for t in times[:4]] == [(4, 9), (6, 9), (8, 9), (10, 9)]
    assert times[4] is None
    assert fixed_days(RetrySettings(retry_strategy="AGGRESSIVE")) == (1, 2, 3, 4, 5, 7, 10)
    assert fixed_days(RetrySettings(retry_strategy="CONSERVATIVE", max_days_to_retry=10)) == (3, 7)


def test_hard_declines_are_never_retried_and_network_errors_back_off_from_five_minutes():
    settings = RetrySettings()
    common = {"first_failed_at": FAILED, "last_attempt_at": FAILED, "now": FAILED, "zone_name": "UTC"}
    assert next_retry(settings, retries_done=0, network_retries_done=0, decline_class="HARD",
                      decline_code="stolen_card", **common) is None
    waits = [next_retry(settings, retries_done=0, network_retries_done=n, decline_class="NETWORK",
                        decline_code="processing_error", **common).at - FAILED for n in range(4)]
    assert waits == [timedelta(minutes=m) for m in (5, 10, 20, 40)]


def test_mi_optimized_retries_on_the_detected_payday_at_the_best_hour_with_its_reason():
    payday = detect_payday(_days((1, 15), (2, 13), (3, 14), (4, 15), (5, 29)), US)
    customer = Learned(payday=payday, hour=Preference(10, 4, 5, "customer"))
    slot = next_retry(RetrySettings(), retries_done=0, network_retries_done=0, decline_class="SOFT",
                      decline_code="insufficient_funds", first_failed_at=FAILED, last_attempt_at=FAILED,
                      now=FAILED, zone_name="America/Chicago", holidays=US, customer=customer)
    assert slot.at.astimezone(CHICAGO) == datetime(2026, 3, 13, 10, tzinfo=CHICAGO)  # the 15th is a Sunday
    assert "15th = detected payday (4 of 5 past payments within 2 days)" in slot.reason
    assert "10:00 America/Chicago = best hour" in slot.reason and slot.reason.endswith("insufficient_funds")


def test_mi_optimized_falls_back_to_the_merchant_then_to_fixed():
    merchant = Learned(payday_source="merchant", weekday=Preference(4, 30, 60, "merchant"))
    slot = next_retry(RetrySettings(), retries_done=0, network_retries_done=0, decline_class="SOFT",
                      decline_code="do_not_honor", first_failed_at=FAILED, last_attempt_at=FAILED, now=FAILED,
                      zone_name="America/Chicago", holidays=US, customer=Learned(), merchant=merchant)
    assert slot.at.astimezone(CHICAGO).weekday() == 4 and "Friday = best weekday (merchant's" in slot.reason
    bare = next_retry(RetrySettings(), retries_done=0, network_retries_done=0, decline_class="SOFT",
                      decline_code="do_not_honor", first_failed_at=FAILED, last_attempt_at=FAILED, now=FAILED,
                      zone_name="America/Chicago", customer=Learned(), merchant=Learned())
    assert bare.at.astimezone(CHICAGO) == datetime(2026, 3, 4, 9, tzinfo=CHICAGO)
    assert "no payday or weekday pattern" in bare.reason and "retry window start" in bare.reason


def test_a_payday_past_the_days_to_retry_is_not_used():
    payday = detect_payday(_days((1, 15), (2, 13), (3, 14), (4, 15)), US)
    slot = next_retry(RetrySettings(max_days_to_retry=5), retries_done=0, network_retries_done=0,
                      decline_class="SOFT", decline_code="insufficient_funds",
                      first_failed_at=datetime(2026, 3, 16, 16, tzinfo=UTC),
                      last_attempt_at=datetime(2026, 3, 16, 16, tzinfo=UTC), now=datetime(2026, 3, 16, 16, tzinfo=UTC),
                      zone_name="America/Chicago", holidays=US, customer=Learned(payday=payday))
    assert "FIXED schedule" in slot.reason and slot.at <= datetime(2026, 3, 21, 16, tzinfo=UTC)


def test_the_customer_timezone_comes_from_country_then_phone_then_plan():
    assert customer_zone("de", None, "America/Chicago") == ("Europe/Berlin", "DE billing address")
    assert customer_zone("US", "+13125550100", "UTC")[0] == "America/Chicago"
    assert customer_zone("US", None, "America/Denver") == ("America/Denver", "plan timezone")
    assert date(2026, 12, 25) in BankHolidays("GB") and date(2026, 12, 28) not in BankHolidays("XX")
