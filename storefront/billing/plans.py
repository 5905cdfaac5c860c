"""Plan rules: the allowed values of a SubscriptionPlan's fields, checked on every write.

``check_field`` is called by the model's ``@validates`` hook, so no code path (form, CLI,
demo seed) can store a plan that the engine could not bill: an interval below 1, an empty
retry window, more than 60 retry days (Recurly's anchor stops at 60), or an unknown
strategy or action. The admin form reports the same messages field by field.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A plan's calendar and its words live with the terms the shop shows (catalog sits below).
from storefront.catalog.plan_terms import add_interval, describe_interval  # noqa: F401

INTERVALS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PLAN_STATUSES = ("ACTIVE", "ARCHIVED")
STRATEGIES = ("MI_OPTIMIZED", "FIXED", "AGGRESSIVE", "CONSERVATIVE")
AFTER_MAX_RETRIES = ("SAVE_FLOW", "CANCEL", "PAUSE", "MANUAL_REVIEW")
MAX_RETRY_DAYS = 60
MAX_RETRIES = 20
MAX_INTERVAL_COUNT = 365
MAX_TRIAL_DAYS = 365
MAX_PRICE_CENTS = 10_000_000

# The seed's setting names beside ours, for the admin's labels and for import/export.
SEED_NAMES = {
    "retryStrategy": "retry_strategy",
    "fixedScheduleDays": "fixed_schedule_days",
    "maxRetries": "max_retries",
    "maxDaysToRetry": "max_days_to_retry",
    "enablePaydayDetection": "enable_payday_detection",
    "enableTimeOptimization": "enable_time_optimization",
    "enableDayOfWeekOptimization": "enable_day_of_week_optimization",
    "retryWindowStart": "retry_window_start",
    "retryWindowEnd": "retry_window_end",
    "timezone": "timezone",
    "sendFailureEmail": "send_failure_email",
    "sendSMSReminder": "send_sms_reminder",
    "useMIGeneratedContent": "use_mi_generated_content",
    "afterMaxRetriesAction": "after_max_retries_action",
    "allowMIBillingDateOptimization": "allow_mi_billing_date_optimization",
}


class PlanError(ValueError):
    """A plan field holds a value the engine cannot use; ``field`` names it and
    ``str(error)`` is the message for the merchant."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _int_in(field: str, value, low: int, high: int, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanError(field, f"{label} must be a whole number.")
    if not low <= value <= high:
        raise PlanError(field, f"{label} must be between {low} and {high}.")
    return value


def valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA timezone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_schedule_days(days, max_days: int | None = None) -> list[int]:
    """``fixedScheduleDays``: 1 to 20 strictly increasing day offsets, each 1..60 (and at
    most ``max_days`` when given). Raises PlanError."""
    field = "fixed_schedule_days"
    if not isinstance(days, list | tuple) or not days:
        raise PlanError(field, "Give at least one retry day, e.g. 1, 3, 5, 7.")
    if len(days) > MAX_RETRIES:
        raise PlanError(field, f"At most {MAX_RETRIES} retry days.")
    clean = [_int_in(field, day, 1, MAX_RETRY_DAYS, "Each retry day") for day in days]
    if any(b <= a for a, b in zip(clean, clean[1:], strict=False)):
        raise PlanError(field, "Retry days must increase, e.g. 1, 3, 5, 7.")
    if max_days is not None and clean[-1] > max_days:
        raise PlanError(field, f"The last retry day ({clean[-1]}) is past the days to retry ({max_days}).")
    return clean


def check_field(plan, key: str, value):
    """The ``@validates`` hook of SubscriptionPlan: returns ``value`` (normalised) or raises
    PlanError. Cross-field rules (window start before end, schedule within the days to
    retry) are checked against the plan's other values as they stand."""
    if key == "interval":
        if value not in INTERVALS:
            raise PlanError(key, "Choose daily, weekly, monthly or yearly.")
    elif key == "interval_count":
        _int_in(key, value, 1, MAX_INTERVAL_COUNT, "The interval count")
    elif key == "trial_days":
        _int_in(key, value, 0, MAX_TRIAL_DAYS, "Trial days")
    elif key == "price_cents":
        _int_in(key, value, 1, MAX_PRICE_CENTS, "The price (in cents)")
    elif key == "currency":
        if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
            raise PlanError(key, "The currency is a three-letter ISO 4217 code.")
        value = value.upper()
    elif key == "status":
        if value not in PLAN_STATUSES:
            raise PlanError(key, "Status is ACTIVE or ARCHIVED.")
    elif key == "retry_strategy":
        if value not in STRATEGIES:
            raise PlanError(key, "Choose MI_OPTIMIZED, FIXED, AGGRESSIVE or CONSERVATIVE.")
    elif key == "after_max_retries_action":
        if value not in AFTER_MAX_RETRIES:
            raise PlanError(key, "Choose SAVE_FLOW, CANCEL, PAUSE or MANUAL_REVIEW.")
    elif key == "max_retries":
        _int_in(key, value, 1, MAX_RETRIES, "Max retries")
    elif key == "max_days_to_retry":
        _int_in(key, value, 1, MAX_RETRY_DAYS, "Days to retry")
        days = plan.fixed_schedule_days
        if days and max(days) > value:
            raise PlanError(key, f"The fixed schedule's last day ({max(days)}) is past {value} days.")
    elif key == "fixed_schedule_days":
        value = check_schedule_days(value, plan.max_days_to_retry)
    elif key == "retry_window_start":
        _int_in(key, value, 0, 23, "The retry window's start hour")
        if plan.retry_window_end is not None and value >= plan.retry_window_end:
            raise PlanError(key, "The retry window is empty: its start must be before its end.")
    elif key == "retry_window_end":
        _int_in(key, value, 1, 24, "The retry window's end hour")
        if plan.retry_window_start is not None and value <= plan.retry_window_start:
            raise PlanError(key, "The retry window is empty: its end must be after its start.")
    elif key == "timezone":
        if not (isinstance(value, str) and valid_zone(value)):
            raise PlanError(key, "Give an IANA timezone such as America/Chicago.")
    return value
