"""Money is integer minor units plus an ISO 4217 code; Babel formats and parses it."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
# ASCII digits with at most one dot: Decimal alone would also read "١٢" or "１２" (other
# scripts' digits), "1e3" and "+5", which no price field should take.
_PLAIN = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")
# Prices are stored in 32-bit integer columns; 1e9 minor units is $10,000,000.00.
MAX_MINOR_UNITS = 1_000_000_000


class MoneyError(ValueError):
    """A price string that is not a non-negative decimal amount."""


def minor_units(currency: str) -> int:
    """Decimal places of ``currency`` per ISO 4217 (CLDR data): USD 2, JPY 0, KWD 3."""
    return get_currency_precision(currency.upper())


# Babel parses the locale and the pattern on every call (about 0.3 ms); a drawer shows a
# dozen amounts, mostly the same few prices, so the texts are kept (pure in their arguments).
@lru_cache(maxsize=8192)
def format_money(amount_minor: int, currency: str, locale: str = "en_US") -> str:
    """Format ``amount_minor`` (e.g. cents) for display: 1999, "USD" -> "$19.99"."""
    value = Decimal(amount_minor).scaleb(-minor_units(currency))
    return format_currency(value, currency.upper(), locale=locale)


def amount_text(cents: int | None, currency: str) -> str:
    """Minor units as a plain decimal for an input, without symbol or grouping:
    1999, "USD" -> "19.99"; 750, "JPY" -> "750"; None -> ""."""
    if cents is None:
        return ""
    places = minor_units(currency)
    return f"{Decimal(cents).scaleb(-places):.{places}f}"


def percent_text(units: int, decimals: int = 2) -> str:
    """A stored percentage (percent × 10**decimals) as a merchant types it: 1250 -> "12.5"
    (basis points), 200000 with decimals=4 -> "20" (WooCommerce's micro-units)."""
    text = f"{Decimal(units).scaleb(-decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_amount(text: str, currency: str) -> int:
    """Parse a decimal price such as "19.99", ".5" or "750" into minor units of ``currency``.

    Raises MoneyError for text that is not ASCII digits with at most one dot (and
    thousands commas), is negative, is above
    MAX_MINOR_UNITS, or has more decimals than the currency allows.
    """
    cleaned = (text or "").strip()
    if "," in cleaned:
        # Only thousands separators ("1,250.00"); "19,99" is a decimal comma, ambiguous here.
        if not _GROUPED.fullmatch(cleaned):
            raise MoneyError(f"not a price (use a dot for decimals): {text!r}")
        cleaned = cleaned.replace(",", "")
    if not _PLAIN.fullmatch(cleaned):
        raise MoneyError(f"not a price: {text!r}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise MoneyError(f"not a price: {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise MoneyError(f"not a price: {text!r}")
    scaled = value.scaleb(minor_units(currency))
    if scaled > MAX_MINOR_UNITS:
        raise MoneyError(f"price too large: {text!r}")
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"too many decimals for {currency}: {text!r}")
    return int(scaled)
