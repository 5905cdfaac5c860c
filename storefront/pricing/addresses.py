"""Address matching shared by tax rates and shipping zones (WooCommerce's rules)."""
from __future__ import annotations

import re
from dataclasses import dataclass

# ASCII only: "²".isdigit() is True, but int("²") fails.
_DIGITS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True)
class Address:
    """Where an order ships: ISO 3166 alpha-2 country, state code, postcode and city."""

    country: str = ""
    state: str = ""
    postcode: str = ""
    city: str = ""

    @property
    def known(self) -> bool:
        return bool(self.country)


def _norm(postcode: str) -> str:
    return postcode.replace(" ", "").replace("-", "").upper()


def postcode_matches(patterns: tuple[str, ...] | list[str], postcode: str) -> bool:
    """True when ``postcode`` matches one of ``patterns`` (or there are none).

    A pattern is an exact code, a prefix ending in ``*`` ("902*"), or a numeric range
    "10000...10999". Spaces and dashes are ignored and letters compared upper-case.
    """
    if not patterns:
        return True
    code = _norm(postcode)
    for raw in patterns:
        pattern = _norm(raw)
        if not pattern or pattern == "*":
            return True
        if pattern.endswith("*") and code.startswith(pattern[:-1]):
            return True
        if "..." in pattern:
            low, _, high = pattern.partition("...")
            if all(_DIGITS.fullmatch(part) for part in (code, low, high)) and int(low) <= int(code) <= int(high):
                return True
        elif code == pattern:
            return True
    return False
