"""The exit-intent offer a landing page asks for as the shopper leaves: ``POST /offers/exit``.

It lives here, above pricing, because claiming the offer issues a pricing code; the landing
page (below pricing) only links to it (``checkout.exit_offer``)."""
from __future__ import annotations

from flask import make_response, render_template, request

from storefront.cookies import VISIT_COOKIE
from storefront.extensions import limiter
from storefront.htmx import no_store
from storefront.limits import setting
from storefront.pricing.exit_offer import claim_exit_offer
from storefront.routing import Routes

routes = Routes()


@routes.post("/offers/exit")
@limiter.limit(setting("RATELIMIT_CART"))
def exit_offer():
    """The exit-intent offer for this visit (form field ``page``: the landing page's slug):
    a dialog with a fresh single-use code, once per visit; 204 (nothing) otherwise."""
    offer = claim_exit_offer(request.form.get("page"), request.cookies.get(VISIT_COOKIE))
    if offer is None:
        return no_store(make_response("", 204))
    return no_store(make_response(render_template("landing/_exit_offer.html", offer=offer)))
