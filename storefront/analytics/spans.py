"""Which rollup rows the dashboard reads for a range: the whole UTC days inside it from a
daily rollup (``analytics_daily``; the commerce tables' ``analytics_*_daily``) and the hours
left over (the range's edges) from its hourly rollup.

A day's row is the sum of its hourly rows (``analytics.sql.sum_days``, called by the refresh
in the same transaction and under the same lock), so the union sums to exactly what the
hourly rows alone give, with about a twenty-fourth of the rows for long ranges.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal, literal_column, or_, select, union_all

from storefront.analytics.models import COUNTERS, DailyRollup, HourlyRollup
from storefront.extensions import db

DAY = timedelta(days=1)
KEY = ("landing_page_id", "variant_id", "utm_source", "utm_medium", "utm_campaign")


def _one_local_date(day: datetime, zone: ZoneInfo | None) -> bool:
    """Whether every hour of the UTC day starting at ``day`` falls on one local date of
    ``zone`` (always, without a zone): only then can its daily row stand for its hours."""
    if zone is None:
        return True
    return day.astimezone(zone).date() == (day + DAY - timedelta(hours=1)).astimezone(zone).date()


def split(start: datetime, end: datetime, zone: ZoneInfo | None = None
          ) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """[start, end) (aware, whole hours) as (day ranges, hour ranges), each a list of
    half-open [from, to) UTC instants, together covering it once: the day ranges are the
    whole UTC days inside it (with ``zone``, only those lying in one local date of it, for
    a series per local day), the hour ranges the rest."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if day < start:
        day += DAY
    days: list[tuple[datetime, datetime]] = []
    hours: list[tuple[datetime, datetime]] = []
    cursor = start
    while day + DAY <= end:
        if _one_local_date(day, zone):
            if cursor < day:
                hours.append((cursor, day))
            if days and days[-1][1] == day:
                days[-1] = (days[-1][0], day + DAY)
            else:
                days.append((day, day + DAY))
            cursor = day + DAY
        day += DAY
    if cursor < end:
        hours.append((cursor, end))
    return days, hours


def _within(column, ranges):
    return or_(*(and_(column >= low, column < high) for low, high in ranges))


def covering(hourly, daily, columns: tuple[str, ...], company_id: int, start: datetime, end: datetime,
             zone: ZoneInfo | None = None, page_id: int | None = None):
    """A subquery of the rows of one rollup pair covering [start, end) once: the whole UTC days
    (``split``) from ``daily`` (a model with ``day``), the rest from ``hourly`` (with ``hour``).
    Columns: ``moment`` (the row's UTC hour, or its UTC day's midnight) and ``columns``
    (names both models have). Own merchant's rows only; ``page_id`` narrows to one landing
    page (models with ``landing_page_id``)."""
    days, hours = split(start, end, zone)
    parts = []
    for model, moment, ranges in ((daily, daily.day, days), (hourly, hourly.hour, hours)):
        if not ranges:
            continue
        conditions = [model.company_id == company_id, _within(moment, ranges)]
        if page_id is not None:
            conditions.append(model.landing_page_id == page_id)
        parts.append(select(moment.label("moment"), *(getattr(model, n) for n in columns)).where(*conditions))
    if not parts:  # an empty range: no rows, same columns
        parts.append(select(hourly.hour.label("moment"), *(getattr(hourly, n) for n in columns))
                     .where(literal(False)))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rollup")


def rows(company_id: int, start: datetime, end: datetime, page_id: int | None = None,
         zone: ZoneInfo | None = None):
    """``covering`` for the main rollup (``analytics_daily`` and ``analytics_hourly``): columns
    ``moment``, the key (``KEY``) and every counter (``COUNTERS``)."""
    return covering(HourlyRollup, DailyRollup, (*KEY, *COUNTERS), company_id, start, end, zone, page_id)


HOUR = timedelta(hours=1)


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for low, high in sorted(ranges):
        if merged and merged[-1][1] == low:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def local_days(company_id: int, start: datetime, end: datetime, zone: ZoneInfo,
               page_id: int | None = None) -> dict[date, list[int]]:
    """Visits, orders and revenue (cents) per local date of ``zone`` over [start, end), in one
    query: each whole UTC day's daily row goes to the local date of most of its hours, and the
    hours of that day falling on another local date (a few at one end, outside UTC) are read
    from the hourly rows, taken off that date and added to their own; the edge hours are read
    from the hourly rows. Equal to summing every hour into its own local date."""
    days, hours = split(start, end)
    into: dict[datetime, date] = {}
    for low, high in days:
        day = low
        while day < high:
            into[day] = (day + DAY / 2).astimezone(zone).date()
            hours.extend((h, h + HOUR) for h in (day + HOUR * n for n in range(24))
                         if h.astimezone(zone).date() != into[day])
            day += DAY
    parts = []
    for model, moment, ranges, whole in ((DailyRollup, DailyRollup.day, days, "1"),
                                         (HourlyRollup, HourlyRollup.hour, _merged(hours), "0")):
        if not ranges:
            continue
        conditions = [model.company_id == company_id, _within(moment, ranges)]
        if page_id is not None:
            conditions.append(model.landing_page_id == page_id)
        parts.append(select(moment.label("moment"), literal_column(whole).label("whole"),
                            func.sum(model.visits), func.sum(model.orders), func.sum(model.revenue_cents))
                     .where(*conditions).group_by(moment))
    buckets: dict[date, list[int]] = {}
    if not parts:
        return buckets
    for moment, whole, *values in db.session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        moment = moment.astimezone(UTC)
        counts = [int(v or 0) for v in values]
        if int(whole):
            target = buckets.setdefault(into[moment], [0, 0, 0])
            for i, v in enumerate(counts):
                target[i] += v
            continue
        own = buckets.setdefault(moment.astimezone(zone).date(), [0, 0, 0])
        for i, v in enumerate(counts):
            own[i] += v
        day = moment.replace(hour=0)
        if day in into:  # an hour of a whole day counted in its daily row under another date
            other = buckets.setdefault(into[day], [0, 0, 0])
            for i, v in enumerate(counts):
                other[i] -= v
    return buckets
