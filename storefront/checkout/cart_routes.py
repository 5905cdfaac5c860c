"""Cart drawer and cart page. Each POST works as htmx (drawer + out-of-band badge + toast)
and as a plain form (303 to /cart with a flash message)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from storefront.cart.services import (
    CartError,
    add_to_cart,
    cart_info,
    current_cart,
    remove_line,
    update_quantity,
)
from storefront.cart.together import bought_together
from storefront.cart.upsell import upsell_offers
from storefront.checkout.info import fetch_checkout_info
from storefront.checkout.services import apply_code, remove_code
from storefront.cookies import set_cart_cookie
from storefront.htmx import no_store, render, toast, trigger, wants_fragment
from storefront.landing.services import shop_context
from storefront.limits import per_ip_and_visit
from storefront.pricing.codes import PromotionCodeError
from storefront.pricing.ship_to import ship_to_for_request
from storefront.pricing.urgency import cart_urgency
from storefront.routing import Routes

routes = Routes()


def _on_landing_page() -> bool:
    # The landing page has the mobile floating cart bar that follows the cart out of band;
    # other pages (the cart page) have none, so it is not sent to them.
    return wants_fragment() and "/lp/" in (request.headers.get("HX-Current-URL") or "")


def _render_cart(cart, status: int = 200, error: str | None = None):
    """The drawer (htmx) or the cart page, from the cart's CheckoutInfo, priced once, with
    the shipping line for the visitor's country (``pricing.ship_to``) when the header gives one."""
    info = fetch_checkout_info(cart)
    shop = {} if wants_fragment() or cart is None else shop_context(cart.company_id, cart.landing_page_id)
    urgency = cart_urgency(info.priced, cart.company_id) if cart is not None else None
    upsell = upsell_offers(cart, info.cart_info)
    together = bought_together(cart, info.cart_info, skip=[offer.product_id for offer in upsell])
    ship_to = ship_to_for_request(cart.company_id, info.cart_info) if cart is not None else None
    response = render("cart/page.html", "drawer", status=status, cart=info.cart_info, priced=info.priced,
                      error=error, upsell=upsell, together=together, urgency=urgency, ship_to=ship_to,
                      floating_cart_oob=_on_landing_page(), **shop)
    return no_store(response)


def _after_change(cart, message: str):
    if wants_fragment():
        response = _render_cart(cart)
        return set_cart_cookie(toast(response, message), cart.token if cart else None)
    flash(message, "success")
    return set_cart_cookie(redirect(url_for("cart.show"), code=303), cart.token if cart else None)


def _refuse(error: CartError):
    cart = current_cart()
    if wants_fragment():
        return toast(_render_cart(cart, status=422, error=str(error)), str(error), "error")
    flash(str(error), "error")
    return no_store(redirect(_same_site_referrer() or url_for("cart.show"), code=303))


def _same_site_referrer() -> str | None:
    # Only ever send the shopper back to a page of this shop, never to another host.
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else None


@routes.post("/cart/add")
@per_ip_and_visit("RATELIMIT_CART")
def add():
    """Add a variant: form fields ``variant_id``, ``quantity`` (default 1) and ``plan_id``
    (subscribe and save; empty or absent for a one-time purchase)."""
    try:
        cart = add_to_cart(request.form.get("variant_id"), request.form.get("quantity", "1"),
                           request.form.get("plan_id"))
    except CartError as error:
        return _refuse(error)
    response = _after_change(cart, "Added to cart")
    if wants_fragment():
        # Opened before the toast fires, so the toast sees the open drawer and stays quiet.
        trigger(response, "cart-opened", first=True)
    return response


@routes.post("/cart/update")
@per_ip_and_visit("RATELIMIT_CART")
def update():
    """Change a line's quantity: ``variant_id`` and ``quantity``."""
    try:
        cart = update_quantity(request.form.get("variant_id"), request.form.get("quantity"))
    except CartError as error:
        return _refuse(error)
    return _after_change(cart, "Cart updated")


@routes.post("/cart/remove")
@per_ip_and_visit("RATELIMIT_CART")
def remove():
    """Remove a line: ``variant_id``."""
    try:
        cart = remove_line(request.form.get("variant_id"))
    except CartError as error:
        return _refuse(error)
    return _after_change(cart, "Removed from cart")


@routes.post("/cart/code")
@per_ip_and_visit("RATELIMIT_CART")
def discount_code():
    """Apply a discount code (``code``); its own message shows when it cannot be used."""
    cart = current_cart(lock=True)
    if cart is None or not cart.lines:
        return _refuse(CartError("Add something to your cart first."))
    if request.form.get("remove"):
        remove_code(cart)
        return _after_change(cart, "Discount code removed")
    try:
        apply_code(cart, cart_info(cart), request.form.get("code"))
    except PromotionCodeError as error:
        return _refuse(CartError(str(error)))
    return _after_change(cart, "Discount applied")


@routes.get("/cart")
def show():
    """The full cart page; an htmx request gets the drawer block."""
    return _render_cart(current_cart())


@routes.get("/cart/drawer")
def drawer():
    """The drawer block alone, for opening the drawer with fresh contents."""
    return _render_cart(current_cart())


@routes.get("/cart/badge")
def badge():
    """The mini-cart badge, refreshed on ``pageshow`` so Back never shows a stale count."""
    info = cart_info(current_cart())
    return no_store(render("cart/page.html", "badge", cart=info))

