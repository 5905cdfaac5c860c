"""Cart totals as pure functions over one CartInfo built once per request.

Prices come from the variants' current ``price_cents``, never from the request or from
the price stored when the line was added. Amounts are integer minor units.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineInfo:
    """One cart line: ``unit_price_cents`` is the variant's current price, ``added_price_cents``
    what it cost when the shopper added it; ``available`` is None for untracked stock."""

    variant_id: int
    product_title: str
    variant_label: str
    sku: str | None
    image_src: str | None
    image_alt: str
    quantity: int
    unit_price_cents: int
    added_price_cents: int
    compare_at_cents: int | None
    available: int | None

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity

    @property
    def price_changed(self) -> bool:
        return self.unit_price_cents != self.added_price_cents

    @property
    def short_of_stock(self) -> bool:
        return self.available is not None and self.quantity > self.available


@dataclass(frozen=True)
class CartInfo:
    """A cart's lines and totals in ``currency``. Shipping and tax are 0 until the cart engine
    adds them; ``total_cents`` is what the PaymentIntent charges."""

    currency: str
    lines: tuple[LineInfo, ...]

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents

    @property
    def any_price_changed(self) -> bool:
        return any(line.price_changed for line in self.lines)

    @property
    def any_short_of_stock(self) -> bool:
        return any(line.short_of_stock for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines
