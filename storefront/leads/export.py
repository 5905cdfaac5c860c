"""The leads CSV export, streamed: rows are read in batches from a server-side cursor and
written out as they come, so memory stays flat whatever the number of leads.

Every cell goes through ``storefront.csv_export.safe_cell`` (formula cells neutralised).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select

from storefront.csv_export import safe_cell
from storefront.extensions import db
from storefront.money import minor_units

BATCH = 1000  # rows fetched per round trip, and written per chunk
HEADERS = (
    "id", "created_at", "status", "source", "source_detail", "email", "phone", "first_name",
    "last_name", "landing_page", "utm_campaign", "completion_pct", "captured_fields",
    "last_active_field", "estimated_value", "actual_value", "cart_value", "currency",
    "abandonment_reason", "last_activity_at", "erased",
)


def _amount(cents: int | None, places: int) -> str:
    """Cents as a plain decimal ("12.50"), which spreadsheets read as a number."""
    return "" if cents is None else str(Decimal(cents).scaleb(-places))


def _time(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def csv_rows(statement: Select, currency: str, tz: ZoneInfo) -> Iterator[str]:
    """Yield the export as CSV text: the header line, then one chunk per BATCH leads.

    ``statement`` is ``admin_services.export_statement``. Times are ISO 8601 in ``tz``;
    amounts are decimals of ``currency``. The rows come from a server-side cursor
    (``yield_per``), executed on the session's connection as plain rows (no ORM loading),
    so nothing accumulates in the session.
    """
    places = minor_units(currency)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    yield buffer.getvalue()
    result = db.session.connection().execution_options(yield_per=BATCH).execute(statement)
    try:
        for batch in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            for row in batch:
                writer.writerow([safe_cell(cell) for cell in (
                    row.id, _time(row.created_at, tz), row.status, row.source, row.source_detail,
                    row.email, row.phone, row.first_name, row.last_name, row.page_title,
                    row.campaign, row.completion_pct, " ".join(row.captured_fields or ()),
                    row.last_active_field, _amount(row.estimated_value_cents, places),
                    _amount(row.actual_value_cents, places), _amount(row.cart_value_cents, places),
                    currency, row.reason, _time(row.activity, tz), "yes" if row.erased_at else "",
                )])
            yield buffer.getvalue()
    finally:
        result.close()
