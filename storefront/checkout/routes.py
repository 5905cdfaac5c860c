"""Checkout page with progressive capture, and the order confirmation page."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from jinja2_fragments.flask import render_block

from storefront.cart.services import cart_info, current_cart
from storefront.checkout.fields import FIELD_NAMES, FIELDS
from storefront.checkout.models import Order
from storefront.checkout.services import (
    CheckoutError,
    capture_field,
    capture_form,
    choose_shipping,
    start_checkout,
)
from storefront.countries import CHECKOUT_COUNTRIES
from storefront.extensions import db
from storefront.htmx import no_store, render, toast, wants_fragment
from storefront.landing.services import shop_context
from storefront.limits import per_ip_and_visit
from storefront.pricing.context import price_cart

PRICING_FIELDS = frozenset({"email", "country", "postcode", "city"})

bp = Blueprint("checkout", __name__)




def _page(cart, results=None, status=200):
    info = cart_info(cart)
    priced = price_cart(cart, info)
    saved = dict(cart.checkout_fields or {})
    values = {name: (results[name].value if results else saved.get(name, "")) for name in FIELD_NAMES}
    errors = {name: r.error for name, r in (results or {}).items() if r.error}
    response = render(
        "checkout/page.html", "checkout_form", status=status, cart=info, cart_row=cart, priced=priced,
        fields=FIELDS, countries=CHECKOUT_COUNTRIES, values=values, errors=errors,
        stripe_publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        stripe_local=current_app.config["STRIPE_LOCAL"],
        **shop_context(cart.company_id, cart.landing_page_id),
    )
    return no_store(response)


def _cart_or_redirect():
    cart = current_cart()
    if cart is None or not cart.lines:
        flash("Your cart is empty.", "info")
        return None, no_store(redirect(url_for("cart.show"), code=303))
    return cart, None


@bp.get("/checkout")
def show():
    """The checkout form with the order summary; an empty cart goes back to /cart."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    start_checkout(cart)
    return _page(cart)


@bp.post("/checkout")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def submit():
    """The whole form in one request (no JavaScript): save every valid field, show errors
    with 422, or go on to payment."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    results = capture_form(cart, request.form)
    if request.form.get("shipping_method_id"):
        try:
            choose_shipping(cart, request.form.get("shipping_method_id"))
        except CheckoutError as error:
            flash(str(error), "error")
    if any(r.error for r in results.values()):
        return _page(cart, results, status=422)
    flash("Your details are saved.", "success")
    return no_store(redirect(url_for("checkout.show", _anchor="payment"), code=303))


@bp.post("/checkout/field/<name>")
@per_ip_and_visit("RATELIMIT_CAPTURE")
def field(name: str):
    """Progressive capture of one field; answers the field re-rendered with its state."""
    if name not in FIELD_NAMES:
        abort(404)
    # Locked: two tabs saving different fields at once must not lose one of them.
    cart = current_cart(lock=True)
    if cart is None:
        return no_store(render("checkout/_expired.html", "expired", status=409))
    result = capture_field(cart, name, request.form.get(name))
    spec = next(f for f in FIELDS if f[0] == name)
    response = render("checkout/_field.html", "field", spec=spec, value=result.value, error=result.error,
                      checked=True, countries=CHECKOUT_COUNTRIES)
    if name in PRICING_FIELDS:
        # Address and email change shipping, tax and per-customer codes: refresh the totals.
        response.set_data(response.get_data(as_text=True) + _totals_oob(cart))
    return no_store(response)


def _totals_oob(cart) -> str:
    info = cart_info(cart)
    context = {"cart": info, "priced": price_cart(cart, info), "oob": True}
    return "".join(render_block("checkout/page.html", block, **context)
                   for block in ("shipping", "summary", "pay_label"))


@bp.post("/checkout/shipping")
@per_ip_and_visit("RATELIMIT_CAPTURE")
def shipping():
    """Choose a shipping method (``shipping_method_id``); htmx gets the methods and totals."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    try:
        choose_shipping(cart, request.form.get("shipping_method_id"))
    except CheckoutError as error:
        if wants_fragment():
            return no_store(toast(make_response(_totals_oob(cart)), str(error), "error"))
        flash(str(error), "error")
        return no_store(redirect(url_for("checkout.show", _anchor="shipping-methods"), code=303))
    if wants_fragment():
        info = cart_info(cart)
        body = render_block("checkout/page.html", "shipping", cart=info, priced=price_cart(cart, info), oob=False)
        others = "".join(render_block("checkout/page.html", block, cart=info, priced=price_cart(cart, info), oob=True)
                         for block in ("summary", "pay_label"))
        return no_store(make_response(body + others))
    return no_store(redirect(url_for("checkout.show", _anchor="payment"), code=303))


@bp.get("/orders/<token>")
def order(token: str):
    """The confirmation page, found by the order's 256-bit token."""
    if len(token) > 64:
        abort(404)
    found = db.session.execute(db.select(Order).filter_by(token=token)).scalar_one_or_none()
    if found is None:
        abort(404)
    return no_store(render("checkout/order.html", "order", order=found,
                           **shop_context(found.company_id, found.landing_page_id)))
