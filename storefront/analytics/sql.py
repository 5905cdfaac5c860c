"""SQL pieces the rollup refreshes share (``analytics.rollups`` and ``analytics.commerce``):
the UTC hour of a timestamp on PostgreSQL and SQLite, hour ranges, the merchants filter, the
abandoned-cart rule and the rewrite of a daily rollup from its hourly one."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, insert, literal, literal_column, or_, select
from sqlalchemy.orm import aliased

from storefront.cart.models import Cart, LineItem
from storefront.extensions import db


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _hour(column):
    """SQL for the UTC hour of a timestamp column; read back with ``_as_hour``."""
    # Constants as SQL text, not bound parameters: the same expression in SELECT and GROUP
    # BY must compare equal, and two parameters never do.
    if _postgres():
        return func.date_trunc(literal_column("'hour'"), func.timezone(literal_column("'UTC'"), column))
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), column)


def _day(column):
    """SQL for the UTC midnight starting a timestamp column's UTC day; read back with ``_as_hour``."""
    if _postgres():
        return func.date_trunc(literal_column("'day'"), func.timezone(literal_column("'UTC'"), column))
    return func.strftime(literal_column("'%Y-%m-%d 00:00:00'"), column)


def _as_hour(value) -> datetime:
    """A value of ``_hour`` (a datetime, or SQLite's text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column, start: datetime, end: datetime):
    return and_(column >= start, column < end)


def _companies(column, companies: frozenset[int] | None):
    return column.in_(sorted(companies)) if companies is not None else literal(True)


def abandoned_cart():
    """SQL condition: the cart counts as abandoned: ABANDONED, or EXPIRED with lines and a
    captured email or phone (it met the abandonment rule before it expired; the rule of
    ``cart.lifecycle``)."""
    fields = Cart.checkout_fields
    contact = or_(fields["email"].as_string().is_not(None), fields["phone"].as_string().is_not(None))
    line = aliased(LineItem)  # apart from any LineItem already in the caller's FROM
    has_lines = select(line.id).where(line.cart_id == Cart.id).correlate(Cart).exists()
    return or_(Cart.status == "ABANDONED", and_(Cart.status == "EXPIRED", contact, has_lines))


def floor_day(moment: datetime) -> datetime:
    """The UTC midnight at or before ``moment`` (aware)."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def sum_days(hourly, daily, keys: tuple[str, ...], counters: tuple[str, ...], start: datetime,
             end: datetime, companies: frozenset[int] | None) -> int:
    """Rewrite the daily rollup ``daily`` (a model with ``company_id``, ``day``, ``keys`` and
    ``counters``) for every UTC day touching the hours [start, end) of ``companies`` (None:
    all) from the hourly rollup ``hourly`` (same columns, ``hour`` for ``day``): delete the
    days' rows, insert each key's sums. Idempotent; run in the refresh's transaction after
    the hours, so a day always equals the sum of its hours. Returns the rows written."""
    first = floor_day(start)
    last = floor_day(end - timedelta(microseconds=1)) + timedelta(days=1)
    day = _day(hourly.hour)
    columns = [hourly.company_id, *(getattr(hourly, k) for k in keys)]
    statement = (select(*columns, day, *(func.sum(getattr(hourly, name)) for name in counters))
                 .where(_in(hourly.hour, first, last), _companies(hourly.company_id, companies))
                 .group_by(*columns, day))
    names = ("company_id", *keys)
    width = len(names)
    rows = [{**dict(zip(names, row[:width], strict=True)), "day": _as_hour(row[width]),
             **{name: int(value or 0) for name, value in zip(counters, row[width + 1:], strict=True)}}
            for row in db.session.execute(statement)]
    db.session.execute(
        delete(daily).where(_in(daily.day, first, last), _companies(daily.company_id, companies))
        .execution_options(synchronize_session=False))
    if rows:
        db.session.execute(insert(daily), rows)
    return len(rows)
