"""Admin screen: carts (/admin/carts). The list with filters (status, or "abandoned": last
updated over 24 h ago and not converted; landing page; UTM campaign), sorted by last update
or value, a page at a time; and one cart with its lines, totals (priced as checkout prices
them), visit, attribution and order.

The detail is put together here from the domains that own each part: the lines and origin
from cart, the totals from pricing, the order from checkout. Every cart is fetched with
``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.cart.admin_services import (
    SORTS,
    STATUS_FILTERS,
    CartOrigin,
    CartQuery,
    cart_filter_choices,
    cart_origin,
    cart_row,
    cart_statements,
    is_abandoned,
)
from storefront.cart.info import CartInfo
from storefront.cart.models import Cart
from storefront.cart.services import cart_info
from storefront.checkout.models import Order
from storefront.checkout.queries import order_for_cart
from storefront.htmx import render
from storefront.pricing.context import PricedCart, price_cart
from storefront.routing import Routes

routes = Routes()


@routes.get("/carts")
@login_required
def carts():
    """The cart list; a GET form (status, landing_page, campaign, sort, dir, page). htmx
    (filters as they change, sort and page links) gets only the results block."""
    query = CartQuery.from_args(request.args)
    rows, count = cart_statements(query)
    page = kit.paginate(rows, query.page, count, row=cart_row)
    landing_pages, campaigns = cart_filter_choices()
    return render("admin/carts/list.html", "results", **kit.merchant(current_user.company),
                  page=page, query=query, landing_pages=landing_pages, campaigns=campaigns,
                  statuses=STATUS_FILTERS, sorts=SORTS, link=kit.list_link("admin.carts", query))


@dataclass(frozen=True)
class CartDetail:
    """One cart: ``info`` (lines at current prices), ``priced`` (what checkout would charge
    now), ``origin`` (visit, landing page, the cart it was merged into) and its ``order``
    when converted."""

    cart: Cart
    info: CartInfo
    priced: PricedCart
    origin: CartOrigin
    order: Order | None

    @property
    def email(self) -> str | None:
        return (self.cart.checkout_fields or {}).get("email")

    @property
    def abandoned(self) -> bool:
        return is_abandoned(self.cart)


@routes.get("/carts/<int:cart_id>")
@login_required
def cart(cart_id: int):
    """One cart: lines, totals, visit and attribution, and its order when converted."""
    found = get_or_404(Cart, cart_id)
    info = cart_info(found)
    detail = CartDetail(found, info, price_cart(found, info), cart_origin(found), order_for_cart(found.id))
    return render("admin/carts/detail.html", "content", **kit.merchant(current_user.company), detail=detail)
