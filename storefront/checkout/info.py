"""CheckoutInfo: everything a shopper's request needs to know about the cart, built once
(Saleor's ``checkout/fetch.py``): the cart row, its lines (``CartInfo``), the priced cart
(``PricedCart``: promotions with their deadlines, shipping, tax) and, when asked for, the
visit. The drawer, the checkout page, Pay and the order read the same object, so a
request prices its cart once (``pricing.context.cart_priced`` counts it) and they agree to
the cent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.cart.services import cart_info
from storefront.extensions import db
from storefront.pricing.context import PricedCart, price_cart
from storefront.visits.models import Visit


@dataclass
class CheckoutInfo:
    """``cart`` may be None (an empty drawer); ``cart_info`` and ``priced`` are then empty."""

    cart: Cart | None
    cart_info: CartInfo
    priced: PricedCart
    _visit: Visit | None = field(default=None, repr=False)
    _visit_loaded: bool = field(default=False, repr=False)

    @property
    def visit(self) -> Visit | None:
        """The cart's visit when it is the same merchant's (one query, on first use)."""
        if not self._visit_loaded:
            visit = db.session.get(Visit, self.cart.visit_id) if self.cart and self.cart.visit_id else None
            self._visit = visit if visit is not None and visit.company_id == self.cart.company_id else None
            self._visit_loaded = True
        return self._visit

    @property
    def lines(self):
        """The cart's lines (``cart.info.LineInfo``) at current prices."""
        return self.cart_info.lines

    @property
    def is_empty(self) -> bool:
        return self.cart is None or self.cart_info.is_empty

    def with_method(self, shipping_method_id: int | None) -> CheckoutInfo:
        """The same checkout totalled with another shipping method (no query)."""
        return CheckoutInfo(self.cart, self.cart_info, self.priced.with_method(shipping_method_id),
                            self._visit, self._visit_loaded)


def fetch_checkout_info(cart: Cart | None, currency: str = "USD") -> CheckoutInfo:
    """Build the CheckoutInfo of ``cart``: its lines (one query) and their pricing (one
    query for the automatic promotions; zones and tax rates are cached)."""
    lines = cart_info(cart, currency)
    return CheckoutInfo(cart, lines, price_cart(cart, lines))
