"""The one-click upsell on the order confirmation page: /orders/<token>/upsell.

POST buys the offer on the card the shopper agreed to keep (``billing.upsell.buy``);
POST .../confirm settles it after the shopper confirmed with their bank on the page
(Stripe.js ``confirmCardPayment``, when the charge answered ``requires_action``). htmx gets
the offer's block (``billing/_upsell.html``) with a toast; without JavaScript the answer is
303 to the confirmation page with a flash. Unknown order tokens answer 404; an offer that
changed or is gone, 409.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from markupsafe import Markup

from storefront.billing.forms import UpsellBuyForm
from storefront.billing.upsell import UpsellError, buy, confirm, offer_for
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.htmx import no_store, render, toast, wants_fragment
from storefront.limits import per_ip_and_visit
from storefront.payments import gateway
from storefront.routing import Routes

routes = Routes()
DONE = {"SUCCEEDED": ("Added to your order.", "success"),
        "REQUIRES_ACTION": ("Your bank asks you to confirm this payment.", "info"),
        "FAILED": ("Your card was declined, so nothing was added.", "error"),
        "CHARGING": ("We're taking the payment. This page shows when it's done.", "info")}


def _order(token: str) -> Order:
    if len(token) > 64:
        abort(404)
    found = db.session.execute(db.select(Order).filter_by(token=token)).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def _context(order: Order, offer, error: str | None = None) -> dict:
    form = UpsellBuyForm(formdata=None, data={"variant": offer.variant_id} if offer else None)
    secret = None
    if offer and offer.purchase and offer.purchase.status == "REQUIRES_ACTION" and offer.purchase.payment_intent_id:
        try:
            secret = gateway.retrieve_payment_intent(offer.purchase.payment_intent_id).client_secret
        except gateway.PaymentError:
            error = "We couldn't reach the payment service. Please reload the page."
    return {"order": order, "offer": offer, "form": form, "error": error, "client_secret": secret,
            "stripe_js_url": current_app.config["STRIPE_JS_URL"],
            "stripe_publishable_key": current_app.config["STRIPE_PUBLISHABLE_KEY"]}


def render_offer(order: Order) -> Markup | None:
    """The offer's block for the confirmation page (checkout's ``order_page`` hook), or None
    when nothing is offered."""
    offer = offer_for(order)
    if offer is None:
        return None
    return Markup(render_template("billing/_upsell.html", **_context(order, offer)))


def _answer(order: Order, message: str, category: str, status: int = 200):
    if wants_fragment():
        offer = offer_for(order)
        response = render("billing/_upsell.html", "upsell", status, **_context(
            order, offer, message if category == "error" else None))
        return no_store(toast(response, message, category))
    flash(message, category)
    return no_store(redirect(url_for("checkout.order", token=order.token, _anchor="upsell"), code=303))


@routes.post("/orders/<token>/upsell")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def buy_offer(token: str):
    """One click: charge the kept card for the offer (form field ``variant``: the offer shown)."""
    order = _order(token)
    offer = offer_for(order)
    form = UpsellBuyForm()
    form.variant.choices = [(offer.variant_id, offer.title)] if offer else []
    if offer is not None and offer.purchase is None and not form.validate():
        return _answer(order, "This offer changed. Please look at it again.", "error", 409)
    try:
        purchase = buy(order, str(form.variant.data or ""))
    except UpsellError as error:
        return _answer(order, str(error), "error", 409)
    if purchase is None:
        return _answer(order, DONE["CHARGING"][0], "info")
    message, category = DONE[purchase.status]
    return _answer(order, purchase.message if purchase.status == "FAILED" and purchase.message else message, category)


@routes.post("/orders/<token>/upsell/confirm")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def confirm_offer(token: str):
    """After Stripe.js confirmed the payment with the bank: settle it from Stripe's copy."""
    order = _order(token)
    try:
        purchase = confirm(order)
    except gateway.PaymentError as error:
        return _answer(order, str(error), "error", 502)
    if purchase is None:
        return _answer(order, "There is nothing to confirm.", "error", 409)
    if purchase.status == "FAILED":
        return _answer(order, "The payment was not confirmed, so nothing was added.", "error")
    return _answer(order, *DONE[purchase.status])
