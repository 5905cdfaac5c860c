"""Time for people: the merchant's timezone, local times as the merchant reads and types
them, and local periods. Times are stored aware UTC (``storefront.types``); these helpers
are for display and for reading what a merchant typed.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def merchant_zone(name: str | None) -> ZoneInfo:
    """The merchant's timezone (an IANA name); UTC when the name is empty or unknown to
    this host."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_stamp(moment: datetime | None, zone: ZoneInfo) -> str:
    """An aware time for a table cell in ``zone``, e.g. "2025-07-01 12:00 EDT"; "" for None."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def local_text(moment: datetime, timezone: str | None, locale: str, with_day: bool = True) -> str:
    """``moment`` as a shopper or merchant reads it, in words of ``locale`` (Babel), e.g.
    "Tuesday, July 1, 2025 12:00 PM EDT" (``with_day=False``: "Jul 1, 2025 12:00 PM EDT")."""
    zone = merchant_zone(timezone)
    local = moment.astimezone(zone)
    day = format_date(local, "full" if with_day else "medium", locale=locale)
    clock = format_time(moment, "short", tzinfo=zone, locale=locale)
    return f"{day} {clock} {format_datetime(moment, 'zzz', tzinfo=zone, locale=locale)}"


def local_input(moment: datetime | None, zone: ZoneInfo) -> str:
    """An aware time as a datetime-local input value in ``zone``; "" for None."""
    return moment.astimezone(zone).strftime(LOCAL_FORMAT) if moment else ""


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """A datetime-local value ("2025-07-01T18:00", seconds allowed) typed in ``zone``, as
    aware UTC (seconds dropped).

    Raises ValueError with a message for the merchant: not a date and time, or a time the
    clocks skip in ``zone`` (a daylight-saving change). A repeated hour means its first
    occurrence.
    """
    text = (text or "").strip()
    if not _LOCAL.fullmatch(text):
        raise ValueError("Enter a date and time, e.g. 2025-07-01 18:00.")
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as exc:
        raise ValueError("Enter a date and time, e.g. 2025-07-01 18:00.") from exc
    moment = naive.replace(tzinfo=zone, second=0, microsecond=0)
    utc = moment.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks change then.")
    return utc


def period_start(timezone: str | None, days: int, now: datetime) -> datetime:
    """Midnight ``days - 1`` days before ``now`` in ``timezone``, as aware UTC: days=1 is
    "today" in the merchant's local time, days=7 the last 7 local days."""
    zone = merchant_zone(timezone)
    local_now = now.astimezone(zone)
    start = datetime.combine(local_now.date() - timedelta(days=days - 1), time.min, tzinfo=zone)
    return start.astimezone(UTC)
