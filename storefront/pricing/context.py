"""Loads a merchant's pricing data (promotions, zones, tax rates) and prices a cart.

The one place where cart, drawer, checkout, PaymentIntent and order get their totals, so
they always agree to the cent.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import selectinload

from storefront.accounts.models import Company
from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.cart.services import touch
from storefront.extensions import db
from storefront.money import format_money
from storefront.pricing.addresses import Address
from storefront.pricing.checkout_totals import Totals, checkout_totals
from storefront.pricing.codes import promotion_status, status_clause
from storefront.pricing.models import (
    Promotion,
    PromotionCode,
    PromotionUsage,
    ShippingZone,
    TaxRate,
)
from storefront.pricing.promotions import PromotionRule
from storefront.pricing.shipping import ShippingMethodRule, ShippingZoneRule
from storefront.pricing.tax import TaxRateRule
from storefront.types import utcnow

MAX_CODE_LENGTH = 64


class PromotionCodeError(ValueError):
    """Why a code cannot be used; ``str(error)`` is the shopper-facing message."""


@dataclass
class PricedCart:
    """Totals plus the code's state, for templates."""

    totals: Totals
    code: str | None = None
    code_error: str | None = None


def rule_from(promotion: Promotion) -> PromotionRule:
    """The pure rule of a Promotion row."""
    return PromotionRule(
        id=promotion.id, name=promotion.name, type=promotion.type, scope=promotion.scope,
        code=promotion.code, percent_bp=promotion.percent_bp, amount_cents=promotion.amount_cents,
        min_subtotal_cents=promotion.min_subtotal_cents, buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity, gift_variant_id=promotion.gift_variant_id,
        product_ids=frozenset(promotion.product_ids or ()), category_ids=frozenset(promotion.category_ids or ()),
        combinable=promotion.combinable,
    )


def find_code(company_id: int, raw: str, now: datetime | None = None) -> tuple[Promotion, PromotionCode | None]:
    """The promotion a shopper's code names, matched case-insensitively.

    Raises PromotionCodeError with its own message for an unknown, not yet started, expired
    or exhausted code.
    """
    now = now or utcnow()
    code = (raw or "").strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH:
        raise PromotionCodeError("That discount code isn't valid.")
    single = db.session.execute(
        db.select(PromotionCode).filter_by(company_id=company_id, code=code)
    ).scalar_one_or_none()
    promotion = single.promotion if single else db.session.execute(
        db.select(Promotion).filter_by(company_id=company_id, code=code)
    ).scalar_one_or_none()
    status = promotion_status(promotion, now) if promotion is not None else "inactive"
    if status == "inactive":
        raise PromotionCodeError("That discount code isn't valid.")
    if status == "scheduled":
        raise PromotionCodeError("That discount code isn't active yet.")
    if (promotion.ends_at and promotion.ends_at <= now) or (single and single.expires_at and single.expires_at <= now):
        raise PromotionCodeError("That discount code has expired.")
    if status == "expired" or (single and single.used_at):
        raise PromotionCodeError("That discount code has already been used up.")
    return promotion, single


def _check_for_cart(promotion: Promotion, cart: Cart, info: CartInfo) -> None:
    email = (cart.checkout_fields or {}).get("email")
    if promotion.per_customer_limit is not None and customer_uses(promotion.id, email) >= promotion.per_customer_limit:
        raise PromotionCodeError("You've already used this discount code.")
    if info.subtotal_cents < promotion.min_subtotal_cents:
        short = format_money(promotion.min_subtotal_cents - info.subtotal_cents, info.currency)
        raise PromotionCodeError(f"Add {short} more to use this code.")


def apply_code(cart: Cart, info: CartInfo, raw: str | None) -> None:
    """Put a discount code on the cart when it can be used now. Commits.

    Raises PromotionCodeError (invalid, not started, expired, used up, already used by this
    customer, below its minimum) and leaves the cart unchanged.
    """
    promotion, _single = find_code(cart.company_id, raw or "")
    _check_for_cart(promotion, cart, info)
    cart.promotion_code = (raw or "").strip().upper()
    touch(cart)
    db.session.commit()


def remove_code(cart: Cart) -> None:
    """Take the discount code off the cart. Commits."""
    cart.promotion_code = None
    touch(cart)
    db.session.commit()


def customer_uses(promotion_id: int, email: str | None) -> int:
    """How many orders of ``email`` used the promotion."""
    if not email:
        return 0
    return db.session.execute(
        db.select(func.count(PromotionUsage.id)).filter_by(promotion_id=promotion_id, email=email)
    ).scalar_one()


def load_rules(cart: Cart, info: CartInfo, now: datetime | None = None) -> tuple[list[PromotionRule], str | None]:
    """The automatic promotions plus the cart's code; returns (rules, code error or None).

    The code's promotion counts once even if it is also automatic."""
    now = now or utcnow()
    automatic = db.session.execute(
        db.select(Promotion).filter_by(company_id=cart.company_id, automatic=True).where(status_clause("active", now))
    ).scalars().all()
    rules = [rule_from(p) for p in automatic]
    error = None
    if cart.promotion_code:
        try:
            promotion, _single = find_code(cart.company_id, cart.promotion_code, now)
            _check_for_cart(promotion, cart, info)
            if all(rule.id != promotion.id for rule in rules):
                rules.append(rule_from(promotion))
        except PromotionCodeError as exc:
            error = str(exc)
    return rules, error


# Zones and tax rates change rarely: each process keeps them for CONFIG_CACHE_SECONDS, so the
# drawer and checkout don't read them on every request. {(kind, company id): (expires, rules)}
CONFIG_CACHE_SECONDS = 30
_config_cache: dict[tuple[str, int], tuple[float, list]] = {}


def _cached(kind: str, company_id: int, load):
    key = (kind, company_id)
    now = time.monotonic()
    hit = _config_cache.get(key)
    if hit is None or hit[0] < now:
        hit = (now + CONFIG_CACHE_SECONDS, load(company_id))
        _config_cache[key] = hit
    return hit[1]


def forget_pricing_config(company_id: int | None = None) -> None:
    """Drop cached zones and tax rates (after the admin or an import changes them)."""
    for key in [k for k in _config_cache if company_id is None or k[1] == company_id]:
        _config_cache.pop(key, None)


def load_zones(company_id: int) -> list[ShippingZoneRule]:
    """The merchant's zones with their active methods, in position order (cached)."""
    return _cached("zones", company_id, _read_zones)


def _read_zones(company_id: int) -> list[ShippingZoneRule]:
    zones = db.session.execute(
        db.select(ShippingZone).filter_by(company_id=company_id).order_by(ShippingZone.position, ShippingZone.id)
        .options(selectinload(ShippingZone.methods))
    ).scalars().all()
    return [
        ShippingZoneRule(
            id=z.id, name=z.name, countries=tuple(c.upper() for c in z.countries or ()),
            states=tuple(s.upper() for s in z.states or ()), postcodes=tuple(z.postcodes or ()),
            methods=tuple(
                ShippingMethodRule(id=m.id, name=m.name, type=m.type, amount_cents=m.amount_cents,
                                   per_kg_cents=m.per_kg_cents, free_above_cents=m.free_above_cents,
                                   tiers=tuple(tuple(t) for t in m.tiers or ()))
                for m in z.methods if m.active
            ),
        )
        for z in zones
    ]


def load_tax_rates(company_id: int) -> list[TaxRateRule]:
    """The merchant's tax rates (cached)."""
    return _cached("tax", company_id, _read_tax_rates)


def _read_tax_rates(company_id: int) -> list[TaxRateRule]:
    rows = db.session.execute(db.select(TaxRate).filter_by(company_id=company_id)).scalars().all()
    return [
        TaxRateRule(id=r.id, country=r.country, state=r.state, postcodes=tuple(r.postcodes or ()),
                    cities=tuple(r.cities or ()), rate_micro=r.rate_micro, name=r.name, priority=r.priority,
                    compound=r.compound, applies_to_shipping=r.applies_to_shipping, tax_class=r.tax_class,
                    position=r.position)
        for r in rows
    ]


def cart_address(cart: Cart) -> Address:
    """The shipping address typed at checkout so far."""
    fields = cart.checkout_fields or {}
    return Address(country=fields.get("country", ""), state=fields.get("state", ""),
                   postcode=fields.get("postcode", ""), city=fields.get("city", ""))


def price_cart(cart: Cart | None, info: CartInfo, now: datetime | None = None) -> PricedCart:
    """Price the cart: promotions, shipping for the typed address and chosen method, tax."""
    if cart is None or info.is_empty:
        return PricedCart(checkout_totals(info))
    rules, code_error = load_rules(cart, info, now)
    tax_rates = load_tax_rates(cart.company_id)
    # The company row is read only when tax applies (its tax-inclusive setting).
    inclusive = bool(tax_rates) and db.session.get(Company, cart.company_id).prices_include_tax
    totals = checkout_totals(
        info, rules=rules, zones=load_zones(cart.company_id), tax_rates=tax_rates,
        address=cart_address(cart), shipping_method_id=cart.shipping_method_id,
        prices_include_tax=inclusive,
    )
    return PricedCart(totals, code=cart.promotion_code, code_error=code_error)
