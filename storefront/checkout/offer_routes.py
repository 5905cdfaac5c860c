"""The exit-intent offer a landing page asks for as the shopper leaves: ``POST /offers/exit``,
and the template global ``ship_to_line`` (shipping to the visitor's country).

It lives here, above pricing, because claiming the offer issues a pricing code; the landing
page (below pricing) only links to it (``checkout.exit_offer``)."""
from __future__ import annotations

from flask import make_response, render_template, request

from storefront.cookies import VISIT_COOKIE
from storefront.extensions import limiter
from storefront.htmx import no_store
from storefront.limits import setting
from storefront.pricing.exit_offer import claim_exit_offer
from storefront.pricing.ship_to import ShipTo, ship_to_for_request
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


@routes.app_template_global("ship_to_line")
def ship_to_line(company_id: int, cart=None) -> ShipTo | None:
    """For templates below pricing (the landing page): shipping to the visitor's country from
    the proxy header (``pricing.ship_to``), or None. Rendered per request, outside the cached
    sections."""
    return ship_to_for_request(company_id, cart)
