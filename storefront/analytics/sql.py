"""SQL pieces the rollup refreshes share (``analytics.rollups`` and ``analytics.commerce``):
the UTC hour of a timestamp on PostgreSQL and SQLite, hour ranges, the merchants filter and
the abandoned-cart rule."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, literal, literal_column, or_, select
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
