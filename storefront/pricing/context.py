"""Loads a merchant's pricing data (promotions, zones, tax rates) and prices a cart.

The one place where the drawer, checkout, the PaymentIntent and the order get their totals,
so they always agree to the cent. A request prices its cart once (``price_cart``: the
queries, then the pure ``checkout_totals``); a request that then only changes the chosen
shipping method re-totals from the same loaded data with ``PricedCart.with_method`` (no
query). Every pricing sends the ``cart_priced`` signal, which the tests count.

Pricing takes the cart row (its merchant, code, address and chosen method) and its
``CartInfo`` (plain data): it imports nothing of the cart's services or routes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from blinker import Namespace
from sqlalchemy import bindparam
from sqlalchemy.orm import selectinload

from storefront.accounts.models import Company
from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.extensions import db
from storefront.pricing.addresses import Address
from storefront.pricing.checkout_totals import Totals, checkout_totals
from storefront.pricing.codes import PromotionCodeError, check_for_cart, find_code, status_clause
from storefront.pricing.models import Promotion, ShippingZone, TaxRate
from storefront.pricing.promotions import PromotionRule
from storefront.pricing.shipping import ShippingMethodRule, ShippingZoneRule
from storefront.pricing.tax import TaxRateRule
from storefront.types import UTCDateTime, utcnow

cart_priced = Namespace().signal("cart-priced")


@dataclass(frozen=True)
class PricingData:
    """What pricing a cart needs besides its lines, loaded once: the eligible promotion rules,
    the code's error (shown to the shopper) and its expiry, zones, tax rates and whether
    prices include tax."""

    rules: tuple[PromotionRule, ...] = ()
    code_error: str | None = None
    code_expires_at: datetime | None = None
    zones: tuple[ShippingZoneRule, ...] = ()
    tax_rates: tuple[TaxRateRule, ...] = ()
    prices_include_tax: bool = False


@dataclass(frozen=True)
class PricedCart:
    """Totals plus the code's state, for templates; ``data`` and ``address`` are what the
    totals were computed from (for ``with_method``)."""

    totals: Totals
    info: CartInfo
    code: str | None = None
    code_error: str | None = None
    data: PricingData = PricingData()
    address: Address = Address()

    def with_method(self, shipping_method_id: int | None) -> PricedCart:
        """The same cart totalled with another shipping method: pure, no query."""
        return replace(self, totals=_totals(self.info, self.data, self.address, shipping_method_id))


def rule_from(promotion: Promotion) -> PromotionRule:
    """The pure rule of a Promotion row."""
    return PromotionRule(
        id=promotion.id, name=promotion.name, type=promotion.type, scope=promotion.scope,
        code=promotion.code, percent_bp=promotion.percent_bp, amount_cents=promotion.amount_cents,
        min_subtotal_cents=promotion.min_subtotal_cents, buy_quantity=promotion.buy_quantity,
        get_quantity=promotion.get_quantity, gift_variant_id=promotion.gift_variant_id,
        product_ids=frozenset(promotion.product_ids or ()), category_ids=frozenset(promotion.category_ids or ()),
        combinable=promotion.combinable, automatic=promotion.automatic, ends_at=promotion.ends_at,
    )


_AUTOMATIC: list = []


def _automatic_query():
    """The merchant's live automatic promotions (bound ``company_id`` and ``now``) as plain
    rows (``rule_from`` reads the same names). Built once: building the status condition
    cost more than running the query."""
    if not _AUTOMATIC:
        _AUTOMATIC.append(
            db.select(Promotion.__table__).where(
                Promotion.company_id == bindparam("company_id"), Promotion.automatic.is_(True),
                status_clause("active", bindparam("now", type_=UTCDateTime())))
        )
    return _AUTOMATIC[0]


def load_rules(cart: Cart, info: CartInfo, now: datetime) -> tuple[list[PromotionRule], str | None, datetime | None]:
    """The live automatic promotions plus the cart's code: (rules, the code's error or None,
    the code's own expiry or None). The code's promotion counts once even if automatic."""
    automatic = db.session.execute(_automatic_query(), {"company_id": cart.company_id, "now": now}).all()
    rules = [rule_from(p) for p in automatic]
    error = expires_at = None
    if cart.promotion_code:
        try:
            promotion, single = find_code(cart.company_id, cart.promotion_code, now)
            check_for_cart(promotion, (cart.checkout_fields or {}).get("email"), info.subtotal_cents, info.currency)
            if all(rule.id != promotion.id for rule in rules):
                rules.append(rule_from(promotion))
            expires_at = single.expires_at if single is not None else None
        except PromotionCodeError as exc:
            error = str(exc)
    return rules, error, expires_at


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
                                   tiers=tuple(tuple(t) for t in m.tiers or ()),
                                   min_days=m.min_days, max_days=m.max_days)
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


def _totals(info: CartInfo, data: PricingData, address: Address, shipping_method_id: int | None) -> Totals:
    return checkout_totals(info, rules=list(data.rules), zones=list(data.zones), tax_rates=list(data.tax_rates),
                           address=address, shipping_method_id=shipping_method_id,
                           prices_include_tax=data.prices_include_tax)


def price_cart(cart: Cart | None, info: CartInfo, now: datetime | None = None) -> PricedCart:
    """Price the cart: promotions, shipping for the typed address and chosen method, tax.
    Amounts in minor units of the cart's currency (see ``checkout_totals``). One query for
    the automatic promotions (two or three with a code); zones and tax rates are cached."""
    cart_priced.send(cart)
    if cart is None or info.is_empty:
        return PricedCart(checkout_totals(info), info)
    rules, code_error, code_expires_at = load_rules(cart, info, now or utcnow())
    tax_rates = load_tax_rates(cart.company_id)
    # The company row is read only when tax applies (its tax-inclusive setting).
    inclusive = bool(tax_rates) and db.session.get(Company, cart.company_id).prices_include_tax
    data = PricingData(rules=tuple(rules), code_error=code_error, code_expires_at=code_expires_at,
                       zones=tuple(load_zones(cart.company_id)), tax_rates=tuple(tax_rates),
                       prices_include_tax=inclusive)
    address = cart_address(cart)
    return PricedCart(_totals(info, data, address, cart.shipping_method_id), info, code=cart.promotion_code,
                      code_error=code_error, data=data, address=address)
