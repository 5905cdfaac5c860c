"""Payment endpoints: start/confirm the payment, the shopper's return, and the webhook."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for

from storefront.cart.models import Cart
from storefront.cart.services import cart_info, current_cart
from storefront.checkout.fields import FIELD_NAMES, LABELS, missing_required, validate_field
from storefront.checkout.reservations import SoldOut, reserve_cart
from storefront.checkout.services import (
    capture_form,
    complete_order,
    existing_order,
    record_payment_failure,
)
from storefront.cookies import CART_COOKIE
from storefront.extensions import csrf, db
from storefront.limits import per_ip_and_visit
from storefront.payments import gateway
from storefront.payments.webhooks import WebhookError, after_order, receive
from storefront.pricing.context import price_cart
from storefront.visits.models import Visit
from storefront.visits.services import record_event

bp = Blueprint("payments", __name__)
MAX_WEBHOOK_BYTES = 512 * 1024
SOLD_OUT = ("Sorry, an item sold out while you were paying. Your payment has been refunded in full; "
            "it can take a few days to show on your statement.")
REVIEWING = ("Your payment went through, and we're reviewing your order before we confirm it. "
             "We'll be in touch by email.")


def _json_error(message: str, status: int = 422, **extra):
    response = jsonify(error=message, **extra)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/checkout/pay")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def pay():
    """Start paying for the cart. Form field ``card_id`` (test mode) confirms server-side.

    Answers JSON: {status: "succeeded", redirect} (plus order_status "NEEDS_REVIEW" and a
    message when the order waits for review) | {status: "requires_action" |
    "requires_payment_method", client_secret} | {error} with 409/422/502. Before any
    PaymentIntent, the cart's tracked stock is held (``checkout.reservations.reserve_cart``);
    when it cannot be, 409 {error, sold_out: [variant ids]} and nothing is charged.
    """
    cart = current_cart()
    if cart is None or not cart.lines:
        return _json_error("Your cart is empty.", 409)
    if any(name in request.form for name in FIELD_NAMES):
        # The form travels with the payment, so a field typed last (never blurred) is kept.
        results = capture_form(cart, request.form)
        errors = {name: r.error for name, r in results.items() if r.error}
        if errors:
            return _json_error("Please check the highlighted fields.", 422, fields=errors)
    missing = missing_required(cart.checkout_fields or {})
    if missing:
        return _json_error(
            "Please complete: " + ", ".join(LABELS[name] for name in missing) + ".", 422,
            # The message the form shows under an empty required field ("ZIP / postcode is required.").
            fields={name: validate_field(name, "").error for name in missing},
        )
    info = cart_info(cart)
    priced = price_cart(cart, info)
    if priced.code_error:
        return _json_error(f"Your discount code can't be used: {priced.code_error} Remove it to continue.", 409)
    if priced.totals.no_zone:
        return _json_error("Sorry, we don't ship to this address yet. Please use another address.", 409)
    if not priced.totals.ready_to_pay:
        return _json_error("Please choose a shipping method.", 422)
    try:
        # Hold the stock before any PaymentIntent exists: a shopper who cannot have it is
        # told which item sold out, and is never charged and refunded.
        reserve_cart(cart)
    except SoldOut as error:
        return _json_error(str(error), 409, sold_out=[shortage.variant_id for shortage in error.shortages])
    try:
        intent = gateway.ensure_payment_intent(cart, priced.totals.total_cents)
    except gateway.PaymentError as error:
        return _json_error(str(error), 502)
    visit = db.session.get(Visit, cart.visit_id) if cart.visit_id else None
    record_event(visit, "payment_submitted", {"payment_intent": intent.id, "total_cents": priced.totals.total_cents})
    db.session.commit()
    card_id = request.form.get("card_id", "")
    if card_id and current_app.config["STRIPE_LOCAL"]:
        if not card_id.startswith("card_") or len(card_id) > 64:
            return _json_error("The card details could not be read. Please try again.", 422)
        try:
            intent = gateway.confirm_with_card(intent.id, card_id)
        except gateway.PaymentError as error:
            record_payment_failure(cart.id, str(error), error.code)
            return _json_error(str(error), 402)
    if intent.status == "succeeded":
        order = _complete(intent)
        if order.status in ("REFUND_PENDING", "REFUNDED"):
            return _json_error(SOLD_OUT, 409)
        if order.status == "NEEDS_REVIEW":
            # Paid, but the amount or a discount did not match: not confirmed until reviewed.
            return jsonify(status="succeeded", order_status="NEEDS_REVIEW", message=REVIEWING,
                           redirect=url_for("checkout.order", token=order.token))
        return jsonify(status="succeeded", redirect=url_for("checkout.order", token=order.token))
    return jsonify(status=intent.status, client_secret=intent.client_secret, payment_intent=intent.id)


def _complete(intent):
    order, created = complete_order(
        int(intent.metadata["cart_id"]), amount_paid_cents=intent.amount, currency=intent.currency,
        payment_intent_id=intent.id,
    )
    if created:
        after_order(order)
    return order


@bp.get("/checkout/complete")
def complete():
    """The shopper's return after Stripe.js confirmed: make (or find) the order and show it.

    Works whether or not the webhook came first. The intent must belong to the shopper's cart.
    """
    intent_id = request.args.get("payment_intent", "")
    cart = current_cart()
    if cart is None:
        # Already converted: find the order by the intent id through the cart cookie's cart.
        order = _order_for_intent(intent_id)
        if order is not None:
            return redirect(url_for("checkout.order", token=order.token), code=303)
        flash("We couldn't find that payment.", "error")
        return redirect(url_for("cart.show"), code=303)
    if not intent_id or intent_id != cart.payment_intent_id:
        flash("We couldn't find that payment.", "error")
        return redirect(url_for("checkout.show"), code=303)
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
    except gateway.PaymentError as error:
        flash(str(error), "error")
        return redirect(url_for("checkout.show"), code=303)
    if intent.status == "succeeded":
        order = _complete(intent)
        return redirect(url_for("checkout.order", token=order.token), code=303)
    message = gateway.failure_message(intent)
    record_payment_failure(cart.id, message)
    flash(message, "error")
    return redirect(url_for("checkout.show", _anchor="payment"), code=303)


def _order_for_intent(intent_id: str):
    token = request.cookies.get(CART_COOKIE)
    if not token or not intent_id:
        return None
    cart = db.session.execute(db.select(Cart).filter_by(token=token)).scalar_one_or_none()
    if cart is None or cart.payment_intent_id != intent_id:
        return None
    return existing_order(cart.id)


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    """Verify the signature on the raw body, record the event id (200 at once for a
    replay), re-fetch the object from Stripe, then apply the transition (webhooks.receive).
    400 for a bad signature or an unusable event; 503 when Stripe cannot be reached, so
    Stripe retries."""
    payload = request.get_data(cache=False)
    if len(payload) > MAX_WEBHOOK_BYTES:
        return jsonify(error="payload too large"), 413
    try:
        outcome = receive(payload, request.headers.get("Stripe-Signature"))
    except WebhookError as error:
        return jsonify(error=str(error)), 400
    except gateway.PaymentError:
        current_app.logger.exception("Stripe webhook: Stripe could not be reached; answered 503")
        return jsonify(error="the payment service could not be reached; retry later"), 503
    return jsonify(received=True, outcome=outcome)
