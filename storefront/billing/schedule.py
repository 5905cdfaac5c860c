"""When to retry a failed renewal, and why (pure functions; the engine stores the reason).

The strategies (a plan's ``retryStrategy``), all bounded by ``maxRetries`` and
``maxDaysToRetry`` counted from the invoice's first failure, and timed inside the retry
window [``retryWindowStart``, ``retryWindowEnd``) hours of the customer's timezone:

- FIXED: retry k runs ``fixedScheduleDays[k-1]`` days after the first failure, at the
  window's start.
- AGGRESSIVE: the FIXED rule on days 1, 2, 3, 4, 5, 7, 10 (many quick tries, like Stripe's
  8 tries in 2 weeks).
- CONSERVATIVE: the FIXED rule on days 3, 7, 14 (few, spread tries, like Kill Bill's 8 days apart).
- MI_OPTIMIZED: the next detected payday (customer's history, else the merchant's) at
  least a day after the last try; else the next best weekday; else the FIXED day. At the
  best hour (customer's, else merchant's) when it lies in the window, else the window's
  start.

Whatever the strategy: a HARD decline is never retried; a NETWORK error is retried after 5,
10, 20 and 40 minutes (then counts as a soft decline).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storefront.billing.declines import HARD, NETWORK
from storefront.billing.payday import WEEKDAYS, Payday, Preference

PRESETS = {"AGGRESSIVE": (1, 2, 3, 4, 5, 7, 10), "CONSERVATIVE": (3, 7, 14)}
NETWORK_BACKOFF_MINUTES = (5, 10, 20, 40)
MIN_GAP = timedelta(hours=20)


@dataclass(frozen=True)
class RetrySettings:
    """The plan's retry settings the schedule needs (names as on SubscriptionPlan)."""

    retry_strategy: str = "MI_OPTIMIZED"
    fixed_schedule_days: tuple[int, ...] = (1, 3, 5, 7)
    max_retries: int = 4
    max_days_to_retry: int = 14
    enable_payday_detection: bool = True
    enable_time_optimization: bool = True
    enable_day_of_week_optimization: bool = True
    retry_window_start: int = 9
    retry_window_end: int = 18

    @classmethod
    def of(cls, plan) -> RetrySettings:
        """The settings of a SubscriptionPlan."""
        return cls(**{name: (tuple(getattr(plan, name)) if name == "fixed_schedule_days" else getattr(plan, name))
                      for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Learned:
    """What the payment history says: a payday, a best hour, a best weekday (any may be None)."""

    payday: Payday | None = None
    payday_source: str = "customer"
    hour: Preference | None = None
    weekday: Preference | None = None


@dataclass(frozen=True)
class Slot:
    """A retry time (UTC) and the reason it was chosen, for the admin."""

    at: datetime
    reason: str


def fixed_days(settings: RetrySettings) -> tuple[int, ...]:
    """The day offsets a FIXED-style strategy uses (the plan's own, or the preset's), cut
    at ``max_days_to_retry``."""
    days = PRESETS.get(settings.retry_strategy, settings.fixed_schedule_days)
    return tuple(day for day in days if day <= settings.max_days_to_retry)


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(ZoneInfo("UTC"))


def _window_hour(settings: RetrySettings, learned: list[Learned], zone_name: str) -> tuple[int, str]:
    start, end = settings.retry_window_start, settings.retry_window_end
    if settings.enable_time_optimization:
        for facts in learned:
            if facts.hour is not None and start <= facts.hour.value < end:
                return facts.hour.value, facts.hour.explain(f"{facts.hour.value:02d}:00 {zone_name} = best hour")
    return start, f"{start:02d}:00 {zone_name} = retry window start"


def next_retry(
    settings: RetrySettings,
    *,
    retries_done: int,
    network_retries_done: int,
    decline_class: str,
    decline_code: str | None,
    first_failed_at: datetime,
    last_attempt_at: datetime,
    now: datetime,
    zone_name: str,
    holidays=frozenset(),
    customer: Learned | None = None,
    merchant: Learned | None = None,
) -> Slot | None:
    """The next retry after a failed attempt, or None when there is none (a HARD decline,
    retries or days used up).

    ``retries_done`` counts the soft retries made so far (not the first charge),
    ``network_retries_done`` the quick network ones. Times are timezone-aware UTC; the
    day and hour are chosen in ``zone_name``. ``holidays`` supports ``day in holidays``.
    """
    code = decline_code or "declined"
    if decline_class == HARD:
        return None
    if decline_class == NETWORK and network_retries_done < len(NETWORK_BACKOFF_MINUTES):
        minutes = NETWORK_BACKOFF_MINUTES[network_retries_done]
        return Slot(now + timedelta(minutes=minutes),
                    f"{code}: network or processing error, quick retry in {minutes} min (backoff from 5 min)")
    if retries_done >= settings.max_retries:
        return None
    zone = ZoneInfo(zone_name)
    deadline = first_failed_at + timedelta(days=settings.max_days_to_retry)
    earliest = max(now, last_attempt_at + MIN_GAP)
    learned = [facts for facts in (customer, merchant) if facts is not None]
    hour, hour_reason = _window_hour(settings, learned, zone_name)

    if settings.retry_strategy == "MI_OPTIMIZED":
        first_day = earliest.astimezone(zone).date()
        last_day = deadline.astimezone(zone).date()
        if settings.enable_payday_detection:
            for facts in learned:
                if facts.payday is None:
                    continue
                for day in facts.payday.occurrences(first_day, last_day, holidays):
                    at = _at(day, hour, zone)
                    if earliest <= at <= deadline:
                        source = "" if facts.payday_source == "customer" else " (merchant's customers)"
                        return Slot(at, f"{day.strftime('%a %d %b')}: {facts.payday.explain()}{source}; {hour_reason}; {code}")
        if settings.enable_day_of_week_optimization:
            for facts in learned:
                if facts.weekday is None:
                    continue
                day = first_day
                while day <= last_day:
                    if day.weekday() == facts.weekday.value and day not in holidays:
                        at = _at(day, hour, zone)
                        if earliest <= at <= deadline:
                            why = facts.weekday.explain(f"{WEEKDAYS[day.weekday()]} = best weekday")
                            return Slot(at, f"{day.strftime('%a %d %b')}: {why}; {hour_reason}; {code}")
                    day += timedelta(days=1)
        fallback = "no payday or weekday pattern in the history: FIXED schedule"
    else:
        fallback = f"{settings.retry_strategy} schedule"

    days = fixed_days(settings)
    if retries_done >= len(days):
        return None
    offset = days[retries_done]
    day = first_failed_at.astimezone(zone).date() + timedelta(days=offset)
    at = _at(day, hour, zone)
    while at < earliest:  # a late run keeps the hour: the next day in the window
        day += timedelta(days=1)
        at = _at(day, hour, zone)
    if at > deadline:
        return None
    listed = ", ".join(str(d) for d in days)
    return Slot(at, f"day {offset} after the first failure ({fallback}: days {listed}); {hour_reason}; {code}")
