"""Checkout page with progressive capture, and the order confirmation page."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from jinja2_fragments.flask import render_block

from storefront.cart.services import current_cart
from storefront.checkout import hooks  # order_page: the upsell on the confirmation
from storefront.checkout.fields import FIELD_NAMES, FIELDS
from storefront.checkout.info import CheckoutInfo, fetch_checkout_info
from storefront.checkout.models import Order
from storefront.checkout.phone_consent import CONSENT_BOXES, consent_texts, is_ticked
from storefront.checkout.recent import recent_purchases
from storefront.checkout.services import (
    CheckoutError,
    capture_consent,
    capture_field,
    capture_form,
    choose_shipping,
    start_checkout,
)
from storefront.countries import CHECKOUT_COUNTRIES
from storefront.extensions import db
from storefront.htmx import no_store, render, toast, wants_fragment, with_live_status
from storefront.landing.services import published_page, shop_context
from storefront.limits import per_ip_and_visit
from storefront.routing import Routes

PRICING_FIELDS = frozenset({"email", "country", "postcode", "city"})

routes = Routes()




def _page(info: CheckoutInfo, results=None, status=200):
    cart = info.cart
    saved = dict(cart.checkout_fields or {})
    values = {name: (results[name].value if results else saved.get(name, "")) for name in FIELD_NAMES}
    errors = {name: r.error for name, r in (results or {}).items() if r.error}
    shop = shop_context(cart.company_id, cart.landing_page_id)
    boxes = [(box, text, is_ticked(cart, box)) for box, text in consent_texts(shop["shop_name"]).items()]
    response = render(
        "checkout/page.html", "checkout_form", status=status, cart=info.cart_info, cart_row=cart,
        priced=info.priced, fields=FIELDS, countries=CHECKOUT_COUNTRIES, values=values, errors=errors,
        stripe_publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
        stripe_js_url=current_app.config["STRIPE_JS_URL"],
        stripe_local=current_app.config["STRIPE_LOCAL"], consent_boxes=boxes, **shop,
    )
    return no_store(response)


def _cart_or_redirect():
    cart = current_cart()
    if cart is None or not cart.lines:
        flash("Your cart is empty.", "info")
        return None, no_store(redirect(url_for("cart.show"), code=303))
    return cart, None


@routes.get("/checkout")
def show():
    """The checkout form with the order summary; an empty cart goes back to /cart."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    start_checkout(cart)
    return _page(fetch_checkout_info(cart))


@routes.post("/checkout")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def submit():
    """The whole form in one request (no JavaScript): save every valid field, show errors
    with 422, or go on to payment."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    capture = capture_form(cart, request.form)
    if capture.notice:
        flash(capture.notice, "info")
    info = fetch_checkout_info(cart)
    if request.form.get("shipping_method_id"):
        try:
            info = choose_shipping(info, request.form.get("shipping_method_id"))
        except CheckoutError as error:
            flash(str(error), "error")
    if capture.errors:
        return _page(info, capture.results, status=422)
    flash("Your details are saved.", "success")
    return no_store(redirect(url_for("checkout.show", _anchor="payment"), code=303))


@routes.post("/checkout/field/<name>")
@per_ip_and_visit("RATELIMIT_CAPTURE")
def field(name: str):
    """Progressive capture of one field; answers the field re-rendered with its state, the
    totals out of band when the field changes them, and a toast when earlier carts merged.
    The text and call consent boxes are captured here too (``_consent_box``)."""
    if name in CONSENT_BOXES:
        return _consent_box(name)
    if name not in FIELD_NAMES:
        abort(404)
    # Locked: two tabs saving different fields at once must not lose one of them.
    cart = current_cart(lock=True)
    if cart is None:
        return no_store(render("checkout/_expired.html", "expired", status=409))
    capture = capture_field(cart, name, request.form.get(name))
    result = capture.results[name]
    spec = next(f for f in FIELDS if f[0] == name)
    response = render("checkout/_field.html", "field", spec=spec, value=result.value, error=result.error,
                      checked=True, countries=CHECKOUT_COUNTRIES)
    if name in PRICING_FIELDS:
        # Address and email change shipping, tax and per-customer codes: refresh the totals.
        response.set_data(response.get_data(as_text=True) + _totals_oob(fetch_checkout_info(cart)))
    if capture.notice and wants_fragment():
        with_live_status(toast(response, capture.notice), capture.notice)
    elif capture.notice:
        flash(capture.notice, "info")
    return no_store(response)


def _consent_box(box: str):
    """Tick or untick one consent box (htmx; without JavaScript the box travels with the
    form). Answers the box re-rendered, 422 with the error for a value no checkbox sends."""
    cart = current_cart(lock=True)
    if cart is None:
        return no_store(render("checkout/_expired.html", "expired", status=409))
    result = capture_consent(cart, box, request.form.get(box)).results[box]
    shop = shop_context(cart.company_id, None)
    response = render("checkout/_phone_consent.html", "box", status=422 if result.error else 200, box=box,
                      text=consent_texts(shop["shop_name"])[box], checked=is_ticked(cart, box), error=result.error)
    return no_store(response)


def _totals_oob(info: CheckoutInfo, blocks=("shipping", "summary", "pay_label")) -> str:
    context = {"cart": info.cart_info, "priced": info.priced, "oob": True}
    return "".join(render_block("checkout/page.html", block, **context) for block in blocks)


@routes.post("/checkout/shipping")
@per_ip_and_visit("RATELIMIT_CAPTURE")
def shipping():
    """Choose a shipping method (``shipping_method_id``); htmx gets the methods and totals."""
    cart, response = _cart_or_redirect()
    if response is not None:
        return response
    info = fetch_checkout_info(cart)
    try:
        info = choose_shipping(info, request.form.get("shipping_method_id"))
    except CheckoutError as error:
        if wants_fragment():
            return no_store(toast(make_response(_totals_oob(info)), str(error), "error"))
        flash(str(error), "error")
        return no_store(redirect(url_for("checkout.show", _anchor="shipping-methods"), code=303))
    if wants_fragment():
        body = render_block("checkout/page.html", "shipping", cart=info.cart_info, priced=info.priced, oob=False)
        return no_store(make_response(body + _totals_oob(info, ("summary", "pay_label"))))
    return no_store(redirect(url_for("checkout.show", _anchor="payment"), code=303))


@routes.get("/orders/<token>")
def order(token: str):
    """The confirmation page, found by the order's 256-bit token."""
    if len(token) > 64:
        abort(404)
    found = db.session.execute(db.select(Order).filter_by(token=token)).scalar_one_or_none()
    if found is None:
        abort(404)
    return no_store(render("checkout/order.html", "order", order=found,
                           order_page_extras=hooks.rendered(hooks.order_page, found),
                           **shop_context(found.company_id, found.landing_page_id)))


# The recent-purchases fragment is the same for every shopper of a page: shared caches may
# keep it this long, so a busy page costs the database one query per half minute at most.
RECENT_MAX_AGE = 30


@routes.get("/lp/<slug>/recent")
def recent(slug: str):
    """The page's recent purchases, anonymised, as a small fragment the page loads after it
    is shown (hx-trigger="load"), so the page itself and its cached sections stay the same
    for everyone. 204 when there are none; 404 for an unpublished or unknown page."""
    page = published_page(slug)
    if page is None:
        abort(404)
    purchases = recent_purchases(page)
    if purchases:
        # Rendered without the context processors: the signed-in-user one reads (and, for a
        # shopper's session, rewrites) the session, and a shared-cacheable answer must not set
        # a cookie. The fragment needs nothing from them.
        template = current_app.jinja_env.get_template("landing/_recent.html")
        response = make_response(template.render(purchases=purchases))
    else:
        response = make_response("", 204)
    response.headers["Cache-Control"] = f"public, max-age={RECENT_MAX_AGE}"
    return response
