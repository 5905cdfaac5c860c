"""Shipping to the visitor's country, for the line "Shipping to Germany: from €4.90, arrives
in 2–4 business days" on the landing page and in the cart drawer.

The country comes from a trusted proxy header (setting ``COUNTRY_HEADER``, e.g.
CF-IPCountry, parsed by ``countries.header_country``); it only chooses which of the
merchant's zones to describe. Costs come from the zones' own rules (``pricing.shipping``),
and never from the header: prices, the cart's totals and checkout (which uses the address
the shopper types) don't read it.
"""
from __future__ import annotations

from dataclasses import dataclass

from storefront.countries import COUNTRY_NAMES, visitor_country
from storefront.pricing.context import load_zones
from storefront.pricing.shipping import ShippingZoneRule, available, method_cost


@dataclass(frozen=True)
class ShipTo:
    """What shipping to ``country`` (alpha-2) looks like for this merchant.

    ``ships`` False: no zone serves the country. Otherwise ``from_cents`` is the cheapest
    method offered for the cart (minor units, the merchant's currency; None when only a
    free-shipping method above a threshold exists), ``free_above_cents`` the lowest free
    threshold (None: none), and ``min_days``/``max_days`` the business-day estimate across
    the offered methods (None: the merchant gave none)."""

    country: str
    ships: bool
    from_cents: int | None = None
    free_above_cents: int | None = None
    min_days: int | None = None
    max_days: int | None = None

    @property
    def country_name(self) -> str:
        return COUNTRY_NAMES.get(self.country, self.country)


def _country_zones(zones: list[ShippingZoneRule], country: str) -> list[ShippingZoneRule]:
    """The zones that may serve some address in ``country``, in the order checkout tries
    them, up to the first one that serves the whole country (later ones are never reached)."""
    found = []
    for zone in zones:
        if zone.countries and country not in zone.countries:
            continue
        states = [s for s in zone.states if s.startswith(f"{country}:")]
        if zone.states and not states:
            continue
        found.append(zone)
        if not zone.states and not zone.postcodes:
            break
    return found


def ship_to_country(zones: list[ShippingZoneRule], country: str, item_count: int = 1, grams: int = 0,
                    subtotal_cents: int = 0) -> ShipTo:
    """Describe shipping to ``country`` for a cart of ``item_count`` units, ``grams`` and
    ``subtotal_cents`` (an empty cart: one unit, nothing yet, so "from" is the base cost).
    Pure: the same rules as checkout (``method_cost``, ``available``)."""
    methods = [m for zone in _country_zones(zones, country) for m in zone.methods]
    if not methods:
        return ShipTo(country, ships=False)
    offered = [m for m in methods if available(m, subtotal_cents)]
    costs = [method_cost(m, max(item_count, 1), grams, subtotal_cents) for m in offered]
    thresholds = [m.free_above_cents for m in methods if m.type == "FREE" and m.free_above_cents]
    estimates = [m for m in (offered or methods) if m.min_days is not None and m.max_days is not None]
    return ShipTo(country, ships=True, from_cents=min(costs) if costs else None,
                  free_above_cents=min(thresholds) if thresholds else None,
                  min_days=min((m.min_days for m in estimates), default=None),
                  max_days=max((m.max_days for m in estimates), default=None))


def ship_to_for_request(company_id: int, cart=None) -> ShipTo | None:
    """The line's data for this request's visitor, or None when the header is off, absent or
    not a country, or the merchant has no zones. ``cart``: the shopper's cart summary (``item_count``, ``grams``,
    ``subtotal_cents`` when known), else an empty cart. Zones come from pricing's cache: at
    most their one lookup, and none without the header."""
    country = visitor_country()
    if country is None:
        return None
    zones = load_zones(company_id)
    if not zones:
        return None  # no zones: checkout ships everywhere for free, nothing to single out
    return ship_to_country(zones, country, item_count=getattr(cart, "item_count", 0) or 1,
                           grams=getattr(cart, "grams", 0) or 0,
                           subtotal_cents=getattr(cart, "subtotal_cents", 0) or 0)
