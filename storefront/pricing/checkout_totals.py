"""What the shopper pays: lines, promotions, shipping and tax in one pure function.

``total_cents`` is the amount of the PaymentIntent and of the order, to the cent:
- tax-exclusive prices: total = (subtotal − line discounts) + (shipping − shipping discount)
  + tax;
- tax-inclusive prices: total = (subtotal − line discounts) + (shipping − shipping discount),
  and ``tax_cents`` is the tax it contains.
Tax is per line, on the line's amount after its share of the discounts (see pricing.tax).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from storefront.cart.info import CartInfo
from storefront.pricing.addresses import Address
from storefront.pricing.promotions import Discounts, PricedLine, PromotionRule, apply_promotions
from storefront.pricing.shipping import (
    ShippingMethodRule,
    ShippingZoneRule,
    available,
    free_shipping_threshold,
    method_cost,
    zone_for,
)
from storefront.pricing.tax import TaxRateRule, matching_rates, shipping_rates, tax_on


@dataclass(frozen=True)
class ShippingOption:
    """A method the shopper can pick, with its cost for this cart (before discounts)."""

    method: ShippingMethodRule
    cost_cents: int


@dataclass
class Totals:
    """The priced cart. ``shipping_required`` is False when the merchant has no zones (free
    shipping everywhere); ``no_zone`` is True when zones exist but none serves the address,
    which blocks the order."""

    currency: str
    subtotal_cents: int
    discounts: Discounts
    line_tax: dict[int, int] = field(default_factory=dict)
    shipping_options: list[ShippingOption] = field(default_factory=list)
    shipping_method: ShippingMethodRule | None = None
    shipping_cents: int = 0
    shipping_tax_cents: int = 0
    no_zone: bool = False
    shipping_required: bool = False
    prices_include_tax: bool = False
    free_shipping_threshold_cents: int | None = None

    @property
    def discount_cents(self) -> int:
        return self.discounts.lines_total

    @property
    def shipping_discount_cents(self) -> int:
        return self.discounts.shipping_cents

    @property
    def merchandise_cents(self) -> int:
        """Subtotal after line discounts."""
        return self.subtotal_cents - self.discount_cents

    @property
    def shipping_after_discount_cents(self) -> int:
        return self.shipping_cents - self.shipping_discount_cents

    @property
    def tax_cents(self) -> int:
        return sum(self.line_tax.values()) + self.shipping_tax_cents

    @property
    def total_cents(self) -> int:
        added_tax = 0 if self.prices_include_tax else self.tax_cents
        return self.merchandise_cents + self.shipping_after_discount_cents + added_tax

    @property
    def ready_to_pay(self) -> bool:
        """An address is served and, where shipping is required, a method is chosen."""
        return not self.no_zone and (not self.shipping_required or self.shipping_method is not None)

    @property
    def free_shipping_remaining_cents(self) -> int | None:
        """How much more merchandise unlocks free shipping; None without a threshold."""
        if self.free_shipping_threshold_cents is None:
            return None
        return max(self.free_shipping_threshold_cents - self.merchandise_cents, 0)


def checkout_totals(
    info: CartInfo,
    *,
    rules: list[PromotionRule] = (),
    zones: list[ShippingZoneRule] = (),
    tax_rates: list[TaxRateRule] = (),
    address: Address | None = None,
    shipping_method_id: int | None = None,
    prices_include_tax: bool = False,
) -> Totals:
    """Price ``info`` (pure: everything it needs is passed in). Amounts in minor units."""
    address = address or Address()
    lines = [PricedLine(line.variant_id, line.product_id, line.category_ids, line.quantity, line.unit_price_cents)
             for line in info.lines]
    no_discount = apply_promotions(list(rules), lines, 0)
    merchandise = info.subtotal_cents - no_discount.lines_total
    totals = Totals(currency=info.currency, subtotal_cents=info.subtotal_cents, discounts=no_discount,
                    prices_include_tax=prices_include_tax, shipping_required=bool(zones),
                    free_shipping_threshold_cents=free_shipping_threshold(list(zones), address))
    if zones and address.known:
        zone = zone_for(list(zones), address)
        if zone is None:
            totals.no_zone = True
        else:
            totals.shipping_options = [
                ShippingOption(method, method_cost(method, info.item_count, info.grams, merchandise))
                for method in zone.methods if available(method, merchandise)
            ]
            chosen = next((o for o in totals.shipping_options if o.method.id == shipping_method_id), None)
            if chosen is None and totals.shipping_options:
                # Until the shopper picks, the cheapest method is selected for them.
                chosen = min(totals.shipping_options, key=lambda o: o.cost_cents)
            if chosen is not None:
                totals.shipping_method, totals.shipping_cents = chosen.method, chosen.cost_cents
    totals.discounts = apply_promotions(list(rules), lines, totals.shipping_cents)
    rates = matching_rates(list(tax_rates), address)
    for line in info.lines:
        net = line.line_total_cents - totals.discounts.per_line.get(line.variant_id, 0)
        totals.line_tax[line.variant_id] = tax_on(net, rates, prices_include_tax)
    totals.shipping_tax_cents = tax_on(totals.shipping_after_discount_cents, shipping_rates(rates), prices_include_tax)
    return totals
