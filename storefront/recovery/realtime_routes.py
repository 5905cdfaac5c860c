"""The in-page save on checkout (``recovery.realtime``), for the shopper's current cart:

- ``GET /checkout/save``: the checkout page's htmx poll (``hx-trigger="every 10s"``).
  Answers the save fragment when the churn risk is high (decided here, off the capture
  path), 204 while nothing is to be shown, and 286 (htmx stops polling) once the cart had
  its save or can get none (``realtime.decide``). Without htmx: 303 to /checkout, which shows the save.
  ``?back=1``: asked by ``static/js/checkout-save.js`` at the first Back on a phone, which
  shows the save whatever the score (any other value of ``back``: 400).
- ``POST /checkout/save/<id>/accept`` and ``/dismiss``: the shopper's answer. htmx gets
  the answered fragment (with the order summary and the Pay label out of band, since an
  applied code changes the total); a plain form answers 303 to /checkout with a flash.
  404 when the shopper's cart has no save of that id (another cart's or merchant's, or a
  malformed id); a replayed answer changes nothing.
- the template global ``checkout_save(cart)``: the full checkout page (JavaScript on or
  off) shows the save, deciding it on that load when it is due.
"""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from jinja2_fragments.flask import render_block

from storefront.cart.services import current_cart
from storefront.checkout.info import fetch_checkout_info
from storefront.htmx import no_store, render, wants_fragment, with_live_status
from storefront.limits import per_ip_and_visit
from storefront.recovery.realtime import NotYours, answer, decide, offer_save
from storefront.routing import Routes

routes = Routes()
STOP_POLLING = 286  # htmx: "stop polling" (https://htmx.org/docs/#polling)


@routes.get("/checkout/save")
@per_ip_and_visit("RATELIMIT_CART")
def save_poll():
    """The save for the shopper's checkout, when it is due (see the module docstring)."""
    back = request.args.get("back")
    if back not in (None, "1"):
        return no_store(make_response("back is 1 or absent", 400))
    if not wants_fragment():
        return no_store(redirect(url_for("checkout.show"), code=303))
    cart = current_cart()
    if cart is None:
        return no_store(make_response("", STOP_POLLING))
    save, done = decide(cart, back=back == "1")
    if save is None:
        return no_store(make_response("", STOP_POLLING if done else 204))
    return no_store(render("recovery/_realtime_save.html", "save", save=save))


def _answer(intervention_id: int, accept: bool):
    cart = current_cart(lock=True)
    if cart is None:
        abort(404)
    try:
        result = answer(cart, intervention_id, accept)
    except NotYours:
        abort(404)
    if not wants_fragment():
        if result.changed:
            flash(result.note, "success")
        return no_store(redirect(url_for("checkout.show", _anchor="payment"), code=303))
    response = render("recovery/_realtime_save.html", "save", save=result.save)
    if result.changed and accept and result.save.code:
        info = fetch_checkout_info(cart)
        context = {"cart": info.cart_info, "priced": info.priced, "oob": True}
        response.set_data(response.get_data(as_text=True) + "".join(
            render_block("checkout/page.html", block, **context) for block in ("summary", "pay_label")))
    if result.changed:
        with_live_status(response, result.note)
    return no_store(response)


@routes.post("/checkout/save/<int:intervention_id>/accept")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def save_accept(intervention_id: int):
    """"Apply" (an offer) or "Continue" (help, reassurance)."""
    return _answer(intervention_id, True)


@routes.post("/checkout/save/<int:intervention_id>/dismiss")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def save_dismiss(intervention_id: int):
    """"No thanks"."""
    return _answer(intervention_id, False)


@routes.app_template_global()
def checkout_save(cart):
    """For the full checkout page: the save to show now (deciding it when due; may commit),
    or None."""
    if cart is None or request.method != "GET":
        return None
    return offer_save(cart)
