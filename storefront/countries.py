"""Countries: the ISO 3166 alpha-2 codes and English names (CLDR data through Babel), and the
shop's checkout list.

``COUNTRY_NAMES`` is every country CLDR names, less its groupings and placeholders (EU, UN,
"Unknown Region" ...): what a merchant may type for a shipping zone or tax rate.
``CHECKOUT_COUNTRIES`` is the shorter list offered at checkout and as checkboxes in the
shipping admin, in that order.
"""
from __future__ import annotations

from babel import Locale
from flask import current_app, has_request_context, request

_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
COUNTRY_NAMES: dict[str, str] = {
    code: name for code, name in sorted(Locale.parse("en").territories.items())
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
}
CHECKOUT_COUNTRIES: tuple[tuple[str, str], ...] = (
    ("US", "United States"), ("CA", "Canada"), ("GB", "United Kingdom"), ("IE", "Ireland"),
    ("DE", "Germany"), ("FR", "France"), ("NL", "Netherlands"), ("ES", "Spain"),
    ("IT", "Italy"), ("AU", "Australia"), ("NZ", "New Zealand"),
)
CHECKOUT_CODES = frozenset(code for code, _ in CHECKOUT_COUNTRIES)

# Proxies' placeholders, not countries: Cloudflare's "XX" (unknown) and "T1" (Tor).
_PROXY_PLACEHOLDERS = {"XX", "T1"}


def header_country(value: str | None) -> str | None:
    """The ISO 3166 alpha-2 code (upper case) in a proxy's country header such as
    CF-IPCountry, or None for anything else: missing, "XX" (unknown), "T1" (Tor), a code
    CLDR does not name, or malformed text. Never raises: the header is a hint, not input."""
    if not value or len(value) > 8:
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha() or code in _PROXY_PLACEHOLDERS:
        return None
    return code if code in COUNTRY_NAMES else None


def visitor_country() -> str | None:
    """The visitor's country from the proxy header named by COUNTRY_HEADER (``header_country``),
    or None (no setting, no request, no header, or a value that is not a country). Reads
    nothing else; a hint for display, never for prices."""
    name = current_app.config.get("COUNTRY_HEADER") if has_request_context() else None
    return header_country(request.headers.get(name)) if name else None
