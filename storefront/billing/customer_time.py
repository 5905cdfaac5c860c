"""The customer's clock and calendar: which timezone retries are timed in, and which bank
holidays move a payday.

The timezone comes from the billing country when its zones keep one clock (tz database
``zone.tab``), else from the phone number (``phonenumbers``' timezone data) when it gives one
zone, else the plan's ``timezone`` (issue rule: "billing address's country, or the phone
number, else the plan's timezone"). The bank-holiday calendar is the billing country's
(``holidays``); an unknown country has none.
"""
from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import holidays

from storefront.notifications.phones import number_zones


@lru_cache(maxsize=1)
def _country_zones() -> dict[str, tuple[str, ...]]:
    """{ISO 3166 alpha-2: its IANA zones} from the tz database's zone.tab."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        path = os.path.join("/usr/share/zoneinfo", "zone.tab")
        text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            zones.setdefault(parts[0], []).append(parts[2])
    return {country: tuple(sorted(names)) for country, names in zones.items()}


def country_zones(country: str | None) -> tuple[str, ...]:
    """The IANA zones of a country (ISO alpha-2, any case); empty when unknown."""
    return _country_zones().get((country or "").upper(), ())


def _one_clock(zones: tuple[str, ...]) -> bool:
    """True when every zone keeps the same UTC offsets in January and July (Berlin and
    Busingen: one clock for a customer, though two zones)."""
    offsets = {
        tuple(datetime(2026, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() for month in (1, 7))
        for zone in zones
    }
    return len(offsets) == 1


def customer_zone(country: str | None, phone: str | None, fallback: str) -> tuple[str, str]:
    """(zone name, how it was chosen) for a customer: the country's zone when its zones keep
    one clock, else the phone's only zone, else a phone zone inside the country, else
    ``fallback`` (the plan's)."""
    by_country = country_zones(country)
    if by_country and _one_clock(by_country):
        return by_country[0], f"{country.upper()} billing address"
    by_phone = number_zones(phone) if phone else ()
    if len(by_phone) == 1:
        return by_phone[0], "phone number"
    inside = [zone for zone in by_phone if zone in by_country]
    if len(inside) == 1:
        return inside[0], "phone number"
    return fallback, "plan timezone"


@lru_cache(maxsize=256)
def _calendar(country: str, year: int) -> frozenset:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        return frozenset()


class BankHolidays:
    """``day in calendar``: True on the country's public holidays (``holidays`` library),
    for any year asked. An unknown or missing country has no holidays."""

    def __init__(self, country: str | None):
        self.country = (country or "").upper()

    def __contains__(self, day) -> bool:
        return bool(self.country) and day in _calendar(self.country, day.year)
