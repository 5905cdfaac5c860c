"""Import tax rates from a WooCommerce tax-rate CSV (``flask tax import``).

Columns: Country Code, State Code, ZIP/Postcode (";"-separated), City (";"-separated),
Rate %, Tax Name, Priority, Compound, Shipping, Tax Class. "*" or empty means any.
The file replaces the merchant's rates in one transaction; a bad row names its line and
column and nothing changes.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from storefront.accounts.models import Company
from storefront.extensions import db
from storefront.inputs import InputError, bad_character, parse_int
from storefront.pricing.context import forget_pricing_config
from storefront.pricing.models import TaxRate

COLUMNS = ("Country Code", "State Code", "ZIP/Postcode", "City", "Rate %", "Tax Name", "Priority",
           "Compound", "Shipping", "Tax Class")
MAX_BYTES = 5 * 1024 * 1024
MAX_PRIORITY = 1000


class TaxImportError(ValueError):
    """A file or row problem; the message names file, line and column."""


def _any(value: str) -> str:
    value = value.strip()
    return "" if value == "*" else value


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip() and part.strip() != "*"]


def parse_tax_rates(path: str | Path) -> list[dict]:
    """Parse the CSV into TaxRate field dicts. Raises TaxImportError."""
    path = Path(path)
    name = path.name
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise TaxImportError(f"{name}: file is larger than 5 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TaxImportError(f"{name}: not a UTF-8 text file") from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise TaxImportError(f"{name}, line 1: missing column(s) {', '.join(missing)}")
    rates = []
    for position, row in enumerate(reader):
        line = reader.line_num

        def fail(column: str, message: str, line: int = line) -> TaxImportError:
            return TaxImportError(f"{name}, line {line}, column {COLUMNS.index(column) + 1} ({column}): {message}")

        for column in COLUMNS:
            found = bad_character(row[column] or "")
            if found:
                raise fail(column, f"contains {found}")
        country = _any(row["Country Code"]).upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise fail("Country Code", f"not a two-letter country code: {row['Country Code']!r}")
        try:
            rate = Decimal(row["Rate %"].strip())
        except InvalidOperation as error:
            raise fail("Rate %", f"not a number: {row['Rate %']!r}") from error
        if not rate.is_finite() or not (0 <= rate <= 100) or rate != rate.quantize(Decimal("0.0001")):
            raise fail("Rate %", f"must be 0 to 100 with at most 4 decimals: {row['Rate %']!r}")
        try:
            priority = parse_int(row["Priority"].strip() or "1", 1, MAX_PRIORITY)
        except InputError as error:
            raise fail("Priority", f"must be a whole number from 1 to {MAX_PRIORITY}: {row['Priority']!r}") from error
        state = _any(row["State Code"]).upper()
        if len(state) > 32:
            raise fail("State Code", "too long: at most 32 characters")
        for column in ("ZIP/Postcode", "City"):
            if any(len(part) > 100 for part in _list(row[column])):
                raise fail(column, "an entry is too long: at most 100 characters each")
        rates.append({
            "country": country, "state": state, "postcodes": _list(row["ZIP/Postcode"]),
            "cities": _list(row["City"]), "rate_micro": int(rate * 10_000), "name": row["Tax Name"].strip()[:100] or "Tax",
            "priority": priority, "compound": row["Compound"].strip() == "1",
            "applies_to_shipping": row["Shipping"].strip() != "0", "tax_class": row["Tax Class"].strip()[:64],
            "position": position,
        })
    return rates


def import_tax_rates(path: str | Path, company: Company) -> int:
    """Replace ``company``'s tax rates with the file's. Returns how many. Commits."""
    rates = parse_tax_rates(path)
    db.session.execute(db.delete(TaxRate).where(TaxRate.company_id == company.id))
    db.session.add_all(TaxRate(company_id=company.id, **fields) for fields in rates)
    db.session.commit()
    forget_pricing_config(company.id)
    return len(rates)
