"""Payment endpoints: start/confirm the payment, the shopper's return, and the webhook."""
from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, url_for

from storefront.cart.models import Cart
from storefront.cart.services import current_cart
from storefront.checkout.orders import existing_order, record_payment_failure
from storefront.checkout.payment import PaymentRefused
from storefront.cookies import CART_COOKIE
from storefront.extensions import csrf, db
from storefront.limits import per_ip_and_visit
from storefront.payments import gateway, services
from storefront.payments.webhooks import WebhookError, receive
from storefront.routing import Routes

routes = Routes()
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


@routes.post("/checkout/pay")
@per_ip_and_visit("RATELIMIT_CHECKOUT")
def pay():
    """Start paying for the cart. Form field ``card_id`` (test mode) confirms server-side.

    Answers JSON: {status: "succeeded", redirect} (plus order_status "NEEDS_REVIEW" and a
    message when the order waits for review) | {status: "requires_action" |
    "requires_payment_method", client_secret, payment_intent} | {status: "requires_setup",
    client_secret, setup_intent} (test mode, a card to keep: Stripe.js confirms the
    SetupIntent and posts Pay again with ``setup_intent``) | {error} with 409 (the
    cart's state; ``sold_out``: variant ids when an item cannot be held), 422 (``fields``:
    {name: message} to mark), 402 (declined) or 502 (Stripe unreachable).
    """
    try:
        outcome = services.pay(current_cart(), request.form)
    except PaymentRefused as refused:
        extra = {key: value for key, value in (("fields", refused.fields), ("sold_out", refused.sold_out)) if value}
        return _json_error(refused.message, refused.status, **extra)
    except services.Declined as error:
        return _json_error(str(error), 402)
    except gateway.PaymentError as error:
        return _json_error(str(error), 502)
    order = outcome.order
    if outcome.status == "requires_setup":
        # Test mode keeping the card: Stripe.js confirms this SetupIntent, then Pay again.
        setup = outcome.intent
        return jsonify(status="requires_setup", client_secret=setup.client_secret, setup_intent=setup.id)
    if order is None:
        intent = outcome.intent
        return jsonify(status=intent.status, client_secret=intent.client_secret, payment_intent=intent.id)
    if order.status in ("REFUND_PENDING", "REFUNDED"):
        return _json_error(SOLD_OUT, 409)
    if order.status == "NEEDS_REVIEW":
        # Paid, but the amount or a discount did not match: not confirmed until reviewed.
        return jsonify(status="succeeded", order_status="NEEDS_REVIEW", message=REVIEWING,
                       redirect=url_for("checkout.order", token=order.token))
    return jsonify(status="succeeded", redirect=url_for("checkout.order", token=order.token))


@routes.get("/checkout/complete")
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
        order = services.complete_intent(intent)
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


@routes.post("/webhooks/stripe")
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
