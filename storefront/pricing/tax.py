"""Tax by shipping address, on amounts after discounts (WooCommerce's rate model).

Which rates apply: for each priority, the first matching rate in position order (so a
more specific rate listed first wins). Non-compound rates apply to the net amount; compound
rates apply afterwards, to the net amount plus the taxes before them.

Rounding rule: tax is computed per line (and for shipping) and rounded half-up to the
minor unit; the order's tax is the sum of those. So the order total equals the sum of
what each line shows, and the PaymentIntent amount equals the order total, to the cent.

Tax-inclusive prices (a company setting): the price already holds the tax; the tax is
extracted as ``gross - gross / multiplier`` per line, and the total does not change.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from storefront.pricing.addresses import Address, postcode_matches

MICRO = Decimal(1_000_000)  # rate_micro is percent × 10,000: 100 % = 1,000,000


@dataclass(frozen=True)
class TaxRateRule:
    """One rate: ``rate_micro`` is the percentage × 10,000 (20 % = 200000)."""

    id: int
    country: str
    state: str
    postcodes: tuple[str, ...]
    cities: tuple[str, ...]
    rate_micro: int
    name: str
    priority: int
    compound: bool
    applies_to_shipping: bool
    tax_class: str = ""
    position: int = 0


def matching_rates(rates: list[TaxRateRule], address: Address, tax_class: str = "") -> list[TaxRateRule]:
    """The rates for ``address`` and ``tax_class``: the first match of each priority."""
    if not address.known:
        return []
    chosen: dict[int, TaxRateRule] = {}
    for rate in sorted(rates, key=lambda r: (r.priority, r.position, r.id)):
        if rate.priority in chosen or rate.tax_class != tax_class:
            continue
        if rate.country and rate.country != address.country.upper():
            continue
        if rate.state and rate.state.upper() != address.state.upper():
            continue
        if rate.cities and address.city.upper() not in {c.upper() for c in rate.cities}:
            continue
        if not postcode_matches(rate.postcodes, address.postcode):
            continue
        chosen[rate.priority] = rate
    return [chosen[p] for p in sorted(chosen)]


def _multiplier(rates: list[TaxRateRule]) -> Decimal:
    simple = sum((Decimal(r.rate_micro) / MICRO for r in rates if not r.compound), Decimal(0))
    multiplier = 1 + simple
    for rate in rates:
        if rate.compound:
            multiplier *= 1 + Decimal(rate.rate_micro) / MICRO
    return multiplier


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_on(amount_cents: int, rates: list[TaxRateRule], prices_include_tax: bool) -> int:
    """Tax in minor units on one line's amount (after discounts), rounded half-up.

    Exclusive: ``amount × (multiplier − 1)``; inclusive: ``amount − amount / multiplier``.
    Never negative: a negative amount is a caller's bug and raises ValueError.
    """
    if amount_cents < 0:
        raise ValueError("taxable amount cannot be negative")
    if not rates or amount_cents == 0:
        return 0
    multiplier = _multiplier(rates)
    amount = Decimal(amount_cents)
    if prices_include_tax:
        return _round(amount - amount / multiplier)
    return _round(amount * (multiplier - 1))


def shipping_rates(rates: list[TaxRateRule]) -> list[TaxRateRule]:
    """The subset of ``rates`` that also applies to shipping."""
    return [rate for rate in rates if rate.applies_to_shipping]
