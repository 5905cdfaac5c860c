"""Shipping zones and methods as pure rules: which zone serves an address and what each
method costs for a cart. Amounts in minor units; weights in grams."""
from __future__ import annotations

from dataclasses import dataclass

from storefront.pricing.addresses import Address, postcode_matches


@dataclass(frozen=True)
class ShippingMethodRule:
    """A method; see pricing.models.ShippingMethod for the meaning of each amount."""

    id: int
    name: str
    type: str
    amount_cents: int = 0
    per_kg_cents: int = 0
    free_above_cents: int = 0
    tiers: tuple[tuple[int, int], ...] = ()
    min_days: int | None = None
    max_days: int | None = None


@dataclass(frozen=True)
class ShippingZoneRule:
    """A zone: empty ``countries`` means everywhere (a "rest of world" zone)."""

    id: int
    name: str
    countries: tuple[str, ...]
    states: tuple[str, ...]
    postcodes: tuple[str, ...]
    methods: tuple[ShippingMethodRule, ...]


def zone_for(zones: list[ShippingZoneRule], address: Address) -> ShippingZoneRule | None:
    """The first zone (in the given order) that serves ``address``, or None."""
    for zone in zones:
        if zone.countries and address.country.upper() not in zone.countries:
            continue
        if zone.states and f"{address.country.upper()}:{address.state.upper()}" not in zone.states:
            continue
        if not postcode_matches(zone.postcodes, address.postcode):
            continue
        return zone
    return None


def method_cost(method: ShippingMethodRule, item_count: int, grams: int, subtotal_cents: int) -> int:
    """What ``method`` costs for a cart of ``item_count`` units weighing ``grams``, whose
    subtotal after discounts is ``subtotal_cents``. WEIGHT_BASED charges per started kg."""
    if method.type == "FLAT_RATE":
        return method.amount_cents
    if method.type == "PER_ITEM":
        return method.amount_cents * item_count
    if method.type == "WEIGHT_BASED":
        kilos = -(-grams // 1000)
        return method.amount_cents + method.per_kg_cents * kilos
    if method.type == "PRICE_BASED":
        cost = method.amount_cents
        for minimum, tier_cost in sorted(method.tiers):
            if subtotal_cents >= minimum:
                cost = tier_cost
        return cost
    if method.type == "FREE":
        return 0 if subtotal_cents >= method.free_above_cents else method.amount_cents
    raise ValueError(f"unknown shipping method type {method.type!r}")


def available(method: ShippingMethodRule, subtotal_cents: int) -> bool:
    """FREE methods with a threshold are offered only above it; other methods always."""
    return method.type != "FREE" or subtotal_cents >= method.free_above_cents


def free_shipping_threshold(zones: list[ShippingZoneRule], address: Address | None) -> int | None:
    """The lowest FREE threshold of the shopper's zone (or of any zone before the address is
    known), for the "you're $X away from free shipping" bar; None when there is none."""
    candidates = [zone_for(zones, address)] if address and address.known else zones
    thresholds = [m.free_above_cents for z in candidates if z for m in z.methods if m.type == "FREE"]
    return min(thresholds) if thresholds else None
