"""Admin screen: carts (/admin/carts). The list with filters (status, or "abandoned": last
updated over 24 h ago and not converted; landing page; UTM campaign), sorted by last update
or value, a page at a time; and one cart with its lines, totals (priced as checkout prices
them), visit, attribution and order.

Every cart is fetched with ``get_or_404``: another merchant's id answers 404.
"""
from __future__ import annotations

from flask import request, url_for
from flask_login import current_user, login_required

from storefront.accounts.scoping import get_or_404
from storefront.cart.admin_services import (
    SORTS,
    STATUS_FILTERS,
    CartQuery,
    cart_detail,
    search_carts,
)
from storefront.cart.models import Cart
from storefront.dates import local_stamp, merchant_zone
from storefront.htmx import render
from storefront.routing import Routes

routes = Routes()


def _context(**extra) -> dict:
    company = current_user.company
    zone = merchant_zone(company.timezone)
    return {"company": company, "when": lambda moment: local_stamp(moment, zone), **extra}


@routes.get("/carts")
@login_required
def carts():
    """The cart list; a GET form (status, landing_page, campaign, sort, dir, page). htmx
    (filters as they change, sort and page links) gets only the results block."""
    page = search_carts(CartQuery.from_args(request.args))

    def link(**changes) -> str:
        return url_for("admin.carts", **page.query.args(**changes))

    return render("admin/carts/list.html", "results", **_context(
        page=page, statuses=STATUS_FILTERS, sorts=SORTS, link=link,
        page_url=lambda n: link(page=n)))


@routes.get("/carts/<int:cart_id>")
@login_required
def cart(cart_id: int):
    """One cart: lines, totals, visit and attribution, and its order when converted."""
    found = get_or_404(Cart, cart_id)
    return render("admin/carts/detail.html", "content", **_context(detail=cart_detail(found)))
