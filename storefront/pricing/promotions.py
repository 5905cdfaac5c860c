"""Promotions as pure functions over the cart lines.

Order of application (each step works on what the step before left):
1. Line promotions, scope PRODUCT or CATEGORY: PERCENTAGE_OFF and FIXED_AMOUNT_OFF (off
   each matching unit), BUY_X_GET_Y (in every group of X + Y matching units, the Y cheapest
   are free).
2. Cart promotions, scope CART: PERCENTAGE_OFF of the remaining subtotal, then
   FIXED_AMOUNT_OFF, never below zero; spread over the lines in proportion to their
   amounts (largest remainder), so every line knows its own discount for tax.
3. FREE_GIFT: the gift variant is added at no charge.
4. Shipping: FREE_SHIPPING, or PERCENTAGE_OFF / FIXED_AMOUNT_OFF with scope SHIPPING.

Combining: promotions marked combinable all apply together. A promotion that is not
combinable applies alone. Of the possible choices (all combinables together, or any one
non-combinable), the one that saves the shopper most wins; a tie goes to the combinables.
``min_subtotal_cents`` compares with the subtotal before any discount.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class PromotionRule:
    """An eligible promotion (dates, limits and code already checked by the caller)."""

    id: int
    name: str
    type: str
    scope: str = "CART"
    code: str | None = None
    percent_bp: int = 0
    amount_cents: int = 0
    min_subtotal_cents: int = 0
    buy_quantity: int = 0
    get_quantity: int = 0
    gift_variant_id: int | None = None
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    combinable: bool = False
    automatic: bool = False
    ends_at: datetime | None = None  # aware UTC; the urgency timer's real deadline


@dataclass(frozen=True)
class PricedLine:
    """What a promotion needs of a line: ids for targeting and the amounts."""

    variant_id: int
    product_id: int
    category_ids: frozenset[int]
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class Discounts:
    """The result: discount per variant (cents), shipping discount, gifts and what applied."""

    per_line: dict[int, int] = field(default_factory=dict)
    shipping_cents: int = 0
    gift_variant_ids: list[int] = field(default_factory=list)
    applied: list[tuple[PromotionRule, int]] = field(default_factory=list)

    @property
    def lines_total(self) -> int:
        return sum(self.per_line.values())

    @property
    def total(self) -> int:
        return self.lines_total + self.shipping_cents


def _targets(rule: PromotionRule, line: PricedLine) -> bool:
    if rule.scope == "PRODUCT":
        return line.product_id in rule.product_ids
    if rule.scope == "CATEGORY":
        return bool(line.category_ids & rule.category_ids)
    return True


def _percent(amount: int, percent_bp: int) -> int:
    # Discounts round down: the shopper never gets more off than the rule says.
    return amount * min(max(percent_bp, 0), BASIS_POINTS) // BASIS_POINTS


def _spread(amount: int, weights: dict[int, int]) -> dict[int, int]:
    """Split ``amount`` over keys in proportion to ``weights``, exactly (largest remainder)."""
    total = sum(weights.values())
    if amount <= 0 or total <= 0:
        return {}
    shares = {key: amount * weight // total for key, weight in weights.items()}
    remainders = sorted(weights, key=lambda k: (-(amount * weights[k] % total), k))
    for key in remainders[: amount - sum(shares.values())]:
        shares[key] += 1
    return {key: share for key, share in shares.items() if share}


def _line_rule(rule: PromotionRule, lines: list[PricedLine], left: dict[int, int]) -> dict[int, int]:
    off: dict[int, int] = {}
    matching = [line for line in lines if _targets(rule, line)]
    if rule.type == "BUY_X_GET_Y":
        group = rule.buy_quantity + rule.get_quantity
        if rule.buy_quantity < 1 or rule.get_quantity < 1:
            return {}
        units = sorted((line.unit_price_cents, line.variant_id) for line in matching for _ in range(line.quantity))
        free = len(units) // group * rule.get_quantity
        for price, variant_id in units[:free]:
            off[variant_id] = off.get(variant_id, 0) + price
    else:
        for line in matching:
            if rule.type == "PERCENTAGE_OFF":
                off[line.variant_id] = _percent(left[line.variant_id], rule.percent_bp)
            elif rule.type == "FIXED_AMOUNT_OFF":
                off[line.variant_id] = rule.amount_cents * line.quantity
    return {k: min(v, left[k]) for k, v in off.items() if v > 0}


def _apply(rules: list[PromotionRule], lines: list[PricedLine], shipping_cents: int) -> Discounts:
    result = Discounts()
    left = {line.variant_id: line.amount_cents for line in lines}

    def take(rule: PromotionRule, off: dict[int, int]) -> None:
        amount = sum(off.values())
        if amount <= 0:
            return
        for key, value in off.items():
            left[key] -= value
            result.per_line[key] = result.per_line.get(key, 0) + value
        result.applied.append((rule, amount))

    for rule in rules:
        if rule.scope in ("PRODUCT", "CATEGORY"):
            take(rule, _line_rule(rule, lines, left))
    for kind in ("PERCENTAGE_OFF", "FIXED_AMOUNT_OFF"):
        for rule in rules:
            if rule.scope != "CART" or rule.type != kind:
                continue
            remaining = sum(left.values())
            wanted = _percent(remaining, rule.percent_bp) if kind == "PERCENTAGE_OFF" else rule.amount_cents
            take(rule, _spread(min(wanted, remaining), dict(left)))
    for rule in rules:
        if rule.type == "FREE_GIFT" and rule.gift_variant_id:
            result.gift_variant_ids.append(rule.gift_variant_id)
            result.applied.append((rule, 0))
    shipping_left = shipping_cents
    for rule in rules:
        if rule.type == "FREE_SHIPPING":
            off = shipping_left
        elif rule.scope == "SHIPPING" and rule.type == "PERCENTAGE_OFF":
            off = _percent(shipping_left, rule.percent_bp)
        elif rule.scope == "SHIPPING" and rule.type == "FIXED_AMOUNT_OFF":
            off = min(rule.amount_cents, shipping_left)
        else:
            continue
        if off > 0 or rule.type == "FREE_SHIPPING":
            shipping_left -= off
            result.shipping_cents += off
            result.applied.append((rule, off))
    return result


def apply_promotions(rules: list[PromotionRule], lines: list[PricedLine], shipping_cents: int) -> Discounts:
    """Apply the eligible ``rules`` to ``lines`` with the given shipping cost (see the module
    docstring for the order and the combining rule). Rules whose minimum subtotal is not met
    are skipped."""
    subtotal = sum(line.amount_cents for line in lines)
    usable = [rule for rule in rules if subtotal >= rule.min_subtotal_cents]
    combinable = [rule for rule in usable if rule.combinable]
    best = _apply(combinable, lines, shipping_cents)
    for rule in usable:
        if not rule.combinable:
            alone = _apply([rule], lines, shipping_cents)
            if alone.total > best.total or (not best.applied and alone.applied):
                best = alone
    return best
