"""Reading the pricing admin's forms: money, percentages, whole numbers and local times as the
merchant types them, into stored units (cents, basis points, aware UTC), collecting one
error per input. Shared by the promotion, shipping and tax forms.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from storefront.accounts.models import Company
from storefront.dates import merchant_zone, parse_local
from storefront.money import MoneyError, minor_units, parse_amount

ECHO_LIMIT = 2000  # characters of an input kept to show again: enough to fix, not a megabyte
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


class FormError(ValueError):
    """The form cannot be saved. ``values`` are the inputs as typed (by input name);
    ``errors`` maps an input name (or "form") to a message."""

    def __init__(self, values: dict, errors: dict[str, str]) -> None:
        self.values, self.errors = values, errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def amount_text(cents: int | None, currency: str) -> str:
    """Minor units as a plain decimal for an input: 1999, "USD" -> "19.99"; None -> ""."""
    if cents is None:
        return ""
    places = minor_units(currency)
    return f"{Decimal(cents).scaleb(-places):.{places}f}"


def percent_text(units: int, decimals: int = 2) -> str:
    """A stored percentage (percent × 10**decimals) as typed: 1250 -> "12.5", 200000/4 -> "20"."""
    text = f"{Decimal(units).scaleb(-decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class Reader:
    """Reads a submitted form input by input: each method returns the stored value (or
    None) and records what was typed in ``values`` and any problem in ``errors``."""

    def __init__(self, form, company: Company) -> None:
        self.form, self.company = form, company
        self.zone = merchant_zone(company.timezone)
        self.values: dict = {}
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        value = (self.form.get(name) or "").strip()
        self.values[name] = value[:ECHO_LIMIT]
        return value

    def text(self, name: str, label: str, max_length: int, required: bool = False) -> str:
        value = self.raw(name)
        if required and not value:
            self.errors[name] = f"{label} is required."
        elif len(value) > max_length:
            self.errors[name] = f"{label} is too long: at most {max_length} characters."
        return value[:max_length]

    def choice(self, name: str, label: str, options) -> str | None:
        value = self.raw(name)
        if value not in options:
            self.errors[name] = f"Choose a {label.lower()} from the list."
            return None
        return value

    def flag(self, name: str) -> bool:
        value = bool(self.form.get(name))
        self.values[name] = value
        return value

    def money(self, name: str, label: str, required: bool = False, positive: bool = False) -> int | None:
        """Minor units of the merchant's currency; None when left empty."""
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = f"{label} is required."
            return None
        try:
            cents = parse_amount(value, self.company.currency)
        except MoneyError:
            self.errors[name] = (f"{label} must be an amount of {self.company.currency} of 0 or more, "
                                 f"with at most {minor_units(self.company.currency)} decimals, e.g. "
                                 f"{amount_text(1250, self.company.currency)}.")
            return None
        if positive and cents == 0:
            self.errors[name] = f"{label} must be more than 0."
            return None
        return cents

    def percent(self, name: str, label: str, required: bool = False, decimals: int = 2,
                allow_zero: bool = False) -> int:
        """A percentage 0..100 with up to ``decimals`` decimals, as percent × 10**decimals
        (basis points for 2, WooCommerce's micro-units for 4). 0 when left empty."""
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = f"{label} is required."
            return 0
        try:
            number = Decimal(value.rstrip("%").strip())
        except InvalidOperation:
            number = Decimal("NaN")
        low = "0" if allow_zero else "more than 0"
        if not number.is_finite() or number < 0 or number > 100 or (number == 0 and not allow_zero) \
                or number != number.quantize(Decimal(1).scaleb(-decimals)):
            self.errors[name] = f"{label} must be a percentage from {low} to 100, with at most {decimals} decimals."
            return 0
        return int(number.scaleb(decimals))

    def whole(self, name: str, label: str, low: int, high: int, required: bool = False) -> int | None:
        """A whole number low..high; None when left empty."""
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = f"{label} is required."
            return None
        if not re.fullmatch(r"\d{1,9}", value) or not low <= int(value) <= high:
            self.errors[name] = f"{label} must be a whole number from {low:,} to {high:,}."
            return None
        return int(value)

    def moment(self, name: str, label: str, required: bool = False) -> datetime | None:
        """A date and time typed in the merchant's timezone, as aware UTC; None when empty."""
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = f"{label} is required."
            return None
        try:
            return parse_local(value, self.zone)
        except ValueError:
            self.errors[name] = f"{label} must be a date and time, like 2025-07-01 09:00."
            return None

    def lines(self, name: str, label: str, max_items: int, max_length: int) -> list[str]:
        """Non-empty lines of a textarea (commas and semicolons also separate), stripped."""
        value = self.raw(name)
        items = [part.strip() for part in re.split(r"[\r\n,;]+", value) if part.strip()]
        if len(items) > max_items:
            self.errors[name] = f"{label}: at most {max_items} entries."
        elif any(len(item) > max_length for item in items):
            self.errors[name] = f"{label}: each entry can be at most {max_length} characters."
        return items[:max_items]

    def done(self) -> None:
        """Raise FormError when any input had a problem."""
        if self.errors:
            raise FormError(self.values, self.errors)
