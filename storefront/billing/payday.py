"""Payday, best hour and best weekday, learned from past successful payments (pure functions).

The payday rule (documented for the merchant, and tested on hand-built histories):

- A payday candidate is the 1st of the month, the 15th, the month's last business day,
  every Friday, or every other Friday. A day-of-month payday that falls on a weekend or a
  bank holiday moves to the business day before it (payroll pays early); a Friday payday
  on a holiday moves to the Thursday.
- A past payment *matches* a candidate when it was made on the payday or up to
  ``WITHIN_DAYS`` (2) days after it: funds arrive on payday and people pay soon after.
- With at least ``MIN_PAYMENTS`` (3) payments, a candidate is detected when at least
  ``MIN_MATCHED`` (3) of them and at least ``MIN_SHARE`` (60 %) match it. The candidate
  with the most matches wins; on a tie the more specific one (in the order above, every
  other Friday before every Friday) wins.

Best hour and best weekday: the most frequent local hour (weekday) of past payments, when
it holds at least 2 payments and at least a third of them.
"""
from __future__ import annotations

from calendar import monthrange
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

WITHIN_DAYS = 2
MIN_PAYMENTS = 3
MIN_MATCHED = 3
MIN_SHARE = 0.6
FRIDAY = 4
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

KINDS = ("DAY_1", "DAY_15", "LAST_BUSINESS_DAY", "BIWEEKLY_FRIDAY", "WEEKLY_FRIDAY")
LABELS = {"DAY_1": "1st", "DAY_15": "15th", "LAST_BUSINESS_DAY": "last business day",
          "BIWEEKLY_FRIDAY": "every other Friday", "WEEKLY_FRIDAY": "Friday"}


def is_business_day(day: date, holidays) -> bool:
    """Monday to Friday and not a bank holiday (``day in holidays``)."""
    return day.weekday() < 5 and day not in holidays


def _back_to_business_day(day: date, holidays) -> date:
    while not is_business_day(day, holidays):
        day -= timedelta(days=1)
    return day


def _month_paydays(kind: str, year: int, month: int, holidays) -> date:
    if kind == "DAY_1":
        return _back_to_business_day(date(year, month, 1), holidays)
    if kind == "DAY_15":
        return _back_to_business_day(date(year, month, 15), holidays)
    return _back_to_business_day(date(year, month, monthrange(year, month)[1]), holidays)


def _friday(day: date, holidays) -> date:
    return day - timedelta(days=1) if day in holidays else day


@dataclass(frozen=True)
class Payday:
    """A detected payday: ``kind`` (one of KINDS), ``matched`` of ``total`` past payments
    within WITHIN_DAYS of it; ``anchor`` is one Friday of a biweekly rhythm."""

    kind: str
    matched: int
    total: int
    anchor: date | None = None

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def explain(self) -> str:
        """e.g. "15th = detected payday (4 of 5 past payments within 2 days)"."""
        return f"{self.label} = detected payday ({self.matched} of {self.total} past payments within {WITHIN_DAYS} days)"

    def occurrences(self, start: date, end: date, holidays) -> list[date]:
        """The paydays from ``start`` to ``end`` (both included), holiday-adjusted."""
        return occurrences(self.kind, start, end, holidays, self.anchor)


def occurrences(kind: str, start: date, end: date, holidays, anchor: date | None = None) -> list[date]:
    """The paydays of ``kind`` from ``start`` to ``end`` (both included), holiday-adjusted.
    A day-of-month payday is looked up in the month before ``start`` too, since moving it
    back can cross into that month's end."""
    found: list[date] = []
    if kind in ("DAY_1", "DAY_15", "LAST_BUSINESS_DAY"):
        year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
        while date(year, month, 1) <= end:
            day = _month_paydays(kind, year, month, holidays)
            if start <= day <= end:
                found.append(day)
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        return sorted(set(found))
    step = 14 if kind == "BIWEEKLY_FRIDAY" else 7
    first = start - timedelta(days=(start.weekday() - FRIDAY) % 7)
    if kind == "BIWEEKLY_FRIDAY" and anchor is not None and (first - anchor).days % 14:
        first -= timedelta(days=7)
    day = first
    while day <= end + timedelta(days=1):
        moved = _friday(day, holidays)
        if start <= moved <= end:
            found.append(moved)
        day += timedelta(days=step)
    return found


def _matches(day: date, paydays: list[date]) -> bool:
    return any(0 <= (day - payday).days <= WITHIN_DAYS for payday in paydays)


def detect_payday(payment_days: list[date], holidays=frozenset()) -> Payday | None:
    """The payday that the local dates of past successful payments follow, or None (rule in
    the module docstring). ``holidays`` supports ``day in holidays``."""
    days = sorted(payment_days)
    total = len(days)
    if total < MIN_PAYMENTS:
        return None
    start, end = days[0] - timedelta(days=WITHIN_DAYS + 14), days[-1]
    scored: list[Payday] = []
    for kind in ("DAY_1", "DAY_15", "LAST_BUSINESS_DAY"):
        paydays = occurrences(kind, start, end, holidays)
        scored.append(Payday(kind, sum(_matches(day, paydays) for day in days), total))
    fridays = occurrences("WEEKLY_FRIDAY", start, end, holidays)
    scored_weekly = Payday("WEEKLY_FRIDAY", sum(_matches(day, fridays) for day in days), total)
    best_biweekly = None
    for anchor in fridays[:2]:
        paydays = occurrences("BIWEEKLY_FRIDAY", start, end, holidays, anchor)
        candidate = Payday("BIWEEKLY_FRIDAY", sum(_matches(day, paydays) for day in days), total, anchor)
        if best_biweekly is None or candidate.matched > best_biweekly.matched:
            best_biweekly = candidate
    scored.extend([p for p in (best_biweekly, scored_weekly) if p is not None])
    valid = [p for p in scored if p.matched >= MIN_MATCHED and p.matched / total >= MIN_SHARE]
    if not valid:
        return None
    return max(valid, key=lambda p: (p.matched, -KINDS.index(p.kind)))


@dataclass(frozen=True)
class Preference:
    """A learned best hour (0-23) or weekday (0 = Monday): ``value``, backed by ``count`` of
    ``total`` payments, learned from ``source`` ("customer" or "merchant")."""

    value: int
    count: int
    total: int
    source: str

    def explain(self, what: str) -> str:
        return f"{what} ({self.source}'s, {self.count} of {self.total} past payments)"


def _mode(values: list[int], source: str) -> Preference | None:
    if not values:
        return None
    value, count = sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))[0]
    if count < 2 or count * 3 < len(values):
        return None
    return Preference(value, count, len(values), source)


def best_hour(local_times: list[datetime], source: str) -> Preference | None:
    """The most frequent local hour of past payments (rule in the module docstring)."""
    return _mode([moment.hour for moment in local_times], source)


def best_weekday(local_times: list[datetime], source: str) -> Preference | None:
    """The most frequent local weekday of past payments (rule in the module docstring)."""
    return _mode([moment.weekday() for moment in local_times], source)
