"""Admin screen: carts (/admin/carts). The list with filters (status, or "abandoned": last
updated over 24 h ago and not converted; landing page; UTM campaign), sorted by last update
or value, a page at a time; and one cart with its lines, totals (priced as checkout prices
them), visit, attribution, order, and its recovery: each attempt's messages with "send now"
and "stop recovery" (``recovery.timeline``).

The detail is put together here from the domains that own each part: the lines and origin
from cart, the totals from pricing, the order from checkout. Every cart is fetched with
``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request, url_for
from flask_login import current_user, login_required

import storefront.admin.kit as kit
from storefront.accounts.scoping import get_or_404
from storefront.admin.recovery import STATUS_LABELS
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
from storefront.recovery import timeline
from storefront.recovery.stages import STAGE_LABELS
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


def _recovery(cart: Cart) -> dict:
    return {"attempts": timeline.cart_attempts(cart.company_id, cart.id), "may_send_now": timeline.may_send_now,
            "statuses": STATUS_LABELS, "stage_labels": STAGE_LABELS}


@routes.get("/carts/<int:cart_id>")
@login_required
def cart(cart_id: int):
    """One cart: lines, totals, visit and attribution, its order when converted, and its
    recovery timeline."""
    found = get_or_404(Cart, cart_id)
    info = cart_info(found)
    detail = CartDetail(found, info, price_cart(found, info), cart_origin(found), order_for_cart(found.id))
    return render("admin/carts/detail.html", "content", **kit.merchant(current_user.company), detail=detail,
                  **_recovery(found))


def _recovery_answer(found: Cart, outcome: timeline.Outcome):
    """The answer to a recovery action: over htmx the recovery section re-rendered with a
    toast; otherwise a flash and 303 to the cart. A replay is told, not refused."""
    target = url_for("admin.cart", cart_id=found.id, _anchor="recovery")
    return kit.done(outcome.message, target, lambda: render(
        "admin/carts/detail.html", "recovery", **kit.merchant(current_user.company), cart=found, **_recovery(found)),
        level="success" if outcome.done else "info")


@routes.post("/carts/<int:cart_id>/recovery/stop")
@login_required
def cart_recovery_stop(cart_id: int):
    """"Stop recovery" for this cart: its running attempts end, their pending messages are
    cancelled. 404 for another merchant's cart."""
    found = get_or_404(Cart, cart_id)
    return _recovery_answer(found, timeline.stop(found.company_id, found.id, current_user._get_current_object()))


@routes.post("/carts/<int:cart_id>/recovery/send/<int:intervention_id>")
@login_required
def cart_recovery_send_now(cart_id: int, intervention_id: int):
    """"Send now" for one pending message of this cart; 404 when the message is not this
    cart's (another merchant's, another cart's)."""
    found = get_or_404(Cart, cart_id)
    outcome = timeline.send_now(found.company_id, found.id, intervention_id)
    if outcome is None:
        abort(404)
    return _recovery_answer(found, outcome)
