"""The cart's lines as one CartInfo built once per request (Saleor's fetch, Oscar's strategy);
``pricing.checkout_totals`` adds promotions, shipping and tax to it.

Prices come from the variants' current ``price_cents``, never from the request or from
the price stored when the line was added. Amounts are integer minor units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from storefront.catalog.plan_terms import describe_interval, save_percent


@dataclass(frozen=True)
class LineInfo:
    """One cart line: ``unit_price_cents`` is the variant's current price (or, for a
    subscribe-and-save line, its plan's current price), ``added_price_cents`` what it cost
    when the shopper added it; ``available`` is None for untracked stock.

    ``plan_id`` is the line's ACTIVE subscription plan (None: a one-time purchase), billed
    every ``plan_interval_count`` ``plan_interval``s; ``regular_price_cents`` is the
    variant's one-time price, against which the plan saves."""

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
    product_id: int = 0
    category_ids: frozenset[int] = frozenset()
    grams: int = 0
    # The first image's stored copy (media.models.MediaAsset) when its sizes are made.
    image: object | None = field(default=None, compare=False)
    plan_id: int | None = None
    plan_interval: str | None = None
    plan_interval_count: int = 1
    regular_price_cents: int | None = None

    @property
    def plan_words(self) -> str:
        """"every month": how often the line's plan renews ("" for a one-time line)."""
        return describe_interval(self.plan_interval, self.plan_interval_count) if self.plan_id else ""

    @property
    def plan_save_percent(self) -> int:
        """Whole percent the plan saves against the one-time price (0 for none)."""
        return save_percent(self.regular_price_cents, self.unit_price_cents) if self.plan_id else 0

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
    """A cart's lines and their subtotal in ``currency`` (current prices, before discounts,
    shipping and tax: see ``pricing.checkout_totals.Totals`` for what is charged)."""

    currency: str
    lines: tuple[LineInfo, ...]

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def grams(self) -> int:
        return sum(line.grams * line.quantity for line in self.lines)

    @property
    def any_price_changed(self) -> bool:
        return any(line.price_changed for line in self.lines)

    @property
    def any_short_of_stock(self) -> bool:
        return any(line.short_of_stock for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def subscription_lines(self) -> tuple[LineInfo, ...]:
        """The subscribe-and-save lines: paying for them keeps the card for renewals."""
        return tuple(line for line in self.lines if line.plan_id)
