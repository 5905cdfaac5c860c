"""CSV for the merchant's spreadsheets, safe to open: the one cell rule every export uses.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some read a
leading tab or carriage return the same way) as a formula (OWASP "CSV injection"): such a
cell gets a leading single quote, so it is shown, not run.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """``value`` as CSV text that a spreadsheet shows rather than runs: a string starting
    with = + - @ tab or CR gets a leading single quote. None is the empty string."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Iterable]) -> str:
    """Whole rows as CSV text (CRLF line ends, quoting as needed), every cell through
    ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
