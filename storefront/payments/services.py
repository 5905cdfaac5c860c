"""Paying: the route's one call for Pay, and the one path from a succeeded payment to its
order, shared by Pay, the shopper's return and the webhook.

Checkout decides whether the cart can be paid (``checkout.payment.prepare_payment``) and
makes the order (``checkout.orders.complete_order``); this module talks to Stripe in
between (``gateway``) and queues what follows an order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from rq import Retry

from storefront.cart.models import Cart
from storefront.checkout.info import CheckoutInfo
from storefront.checkout.models import Order
from storefront.checkout.orders import complete_order, record_payment_failure
from storefront.checkout.payment import PaymentRefused, payment_submitted, prepare_payment
from storefront.checkout.tasks import send_order_confirmation
from storefront.payments import gateway, saved_cards
from storefront.payments.tasks import refund_sold_out_order
from storefront.queue import enqueue


class Declined(gateway.PaymentError):
    """The card was refused when confirming; ``str(error)`` is the reason for the shopper."""


@dataclass(frozen=True)
class PayOutcome:
    """What Pay did: ``status`` is Stripe's PaymentIntent status ("succeeded",
    "requires_action", "requires_payment_method", ...); ``order`` is set once paid."""

    status: str
    intent: object
    order: Order | None = None


def after_order(order: Order) -> None:
    """Queue what follows a new order: the confirmation email (a "we're reviewing your
    order" email for NEEDS_REVIEW, chosen by the job), or the refund of an order whose
    stock ran out while the shopper paid. Both retried on transient faults."""
    if order.status == "REFUND_PENDING":
        enqueue(refund_sold_out_order, order.id, retry=Retry(max=5, interval=[10, 60, 300, 900, 3600]))
    else:
        enqueue(send_order_confirmation, order.id, retry=Retry(max=3, interval=[10, 60, 300]))


def complete_payment(cart_id: int, *, info: CheckoutInfo | None = None, **payment) -> tuple[Order, bool]:
    """Make (or find) the order of a succeeded payment and, when it is new, queue what
    follows it. ``payment`` goes to ``complete_order`` (amount_paid_cents, currency,
    payment_intent_id, checkout_session_id, email, company_id). Returns (order, created);
    raises LookupError for a cart that is not this installation's."""
    order, created = complete_order(cart_id, info=info, **payment)
    if created:
        after_order(order)
    return order, created


def complete_intent(intent, info: CheckoutInfo | None = None) -> Order:
    """The order of a PaymentIntent Stripe says succeeded (its metadata names the cart),
    keeping the card the shopper agreed to keep (``gateway.kept_card``)."""
    order, _created = complete_payment(
        int(intent.metadata["cart_id"]), info=info, amount_paid_cents=intent.amount,
        currency=intent.currency, payment_intent_id=intent.id, kept_card=gateway.kept_card(intent))
    return order


SETUP_ID = re.compile(r"seti_[A-Za-z0-9]{1,64}")
CARD_UNREAD = "The card details could not be read. Please try again."


def _keep_card_test_mode(cart: Cart, info: CheckoutInfo, form) -> PayOutcome:
    """Pay while keeping the card, in test mode (localstripe refuses ``setup_future_usage``).

    First call (no ``setup_intent`` in the form): a Stripe Customer for the shopper and a
    SetupIntent (``usage=off_session``, metadata ``cart_id``) that Stripe.js confirms with
    the card; answers status "requires_setup". Second call: the SetupIntent must be this
    cart's and succeeded; its PaymentMethod is attached to the Customer and pays the cart's
    intent (``gateway.confirm_saved_card``). Raises PaymentRefused for another cart's,
    unconfirmed or malformed SetupIntent, Declined for a refused card.
    """
    setup_id = form.get("setup_intent", "")
    if not setup_id:
        email = (cart.checkout_fields or {}).get("email")
        customer_id = saved_cards.create_customer(email, company_id=cart.company_id,
                                              idempotency_key=f"cart-{cart.id}-v{cart.version}-customer")
        setup = saved_cards.create_setup_intent(customer_id, {"cart_id": str(cart.id), "company_id": str(cart.company_id)})
        return PayOutcome("requires_setup", setup)
    if not SETUP_ID.fullmatch(setup_id):
        raise PaymentRefused(CARD_UNREAD, 422)
    try:
        setup = saved_cards.retrieve_setup_intent(setup_id).to_dict()
    except gateway.UnknownObject as error:
        raise PaymentRefused(CARD_UNREAD, 422) from error
    method = setup.get("payment_method")
    method = method.get("id") if isinstance(method, dict) else method
    customer_id = setup.get("customer")
    if (setup.get("metadata") or {}).get("cart_id") != str(cart.id) or not customer_id:
        raise PaymentRefused(CARD_UNREAD, 422)
    if setup.get("status") != "succeeded" or not method:
        raise PaymentRefused("The card was not confirmed. Please try again.", 402)
    saved_cards.attach_payment_method(method, customer_id)
    intent = gateway.ensure_payment_intent(cart, info.priced.totals.total_cents, keep_card_for=customer_id)
    payment_submitted(info, intent.id)
    if intent.status == "requires_payment_method" or intent.status == "requires_confirmation":
        try:
            intent = gateway.confirm_saved_card(intent.id, customer_id, method)
        except gateway.PaymentError as error:
            record_payment_failure(cart.id, str(error), error.code)
            raise Declined(str(error), error.code) from error
    if intent.status == "succeeded":
        return PayOutcome(intent.status, intent, complete_intent(intent, info))
    return PayOutcome(intent.status, intent)


def pay(cart: Cart | None, form) -> PayOutcome:
    """Pay for the shopper's cart: checkout decides (raises PaymentRefused), Stripe charges
    (raises gateway.PaymentError, whose message is for the shopper, after recording the
    failure). In test mode the form's ``card_id`` (a token from localstripe's Stripe.js) is
    confirmed here (a refusal raises Declined); with real keys the browser confirms and the shopper returns to
    ``/checkout/complete``.

    A cart with a subscription line keeps the card for off-session charges: with real keys
    the intent carries ``setup_future_usage`` and the browser confirms it; in test mode see
    ``_keep_card_test_mode`` (status "requires_setup" first)."""
    info = prepare_payment(cart, form)
    if info.cart_info.subscription_lines:
        # The shopper agreed (in words, at checkout) to keep the card for the renewals.
        if current_app.config["STRIPE_LOCAL"]:
            return _keep_card_test_mode(cart, info, form)
        customer_id = saved_cards.create_customer((cart.checkout_fields or {}).get("email"), company_id=cart.company_id,
                                              idempotency_key=f"cart-{cart.id}-customer")
        intent = gateway.ensure_payment_intent(cart, info.priced.totals.total_cents, keep_card_for=customer_id)
        payment_submitted(info, intent.id)
        return PayOutcome(intent.status, intent)
    intent = gateway.ensure_payment_intent(cart, info.priced.totals.total_cents)
    payment_submitted(info, intent.id)
    card_id = form.get("card_id", "")
    if card_id and current_app.config["STRIPE_LOCAL"]:
        if not card_id.startswith("card_") or len(card_id) > 64:
            raise PaymentRefused("The card details could not be read. Please try again.", 422)
        try:
            intent = gateway.confirm_with_card(intent.id, card_id)
        except gateway.PaymentError as error:
            record_payment_failure(cart.id, str(error), error.code)
            raise Declined(str(error), error.code) from error
    if intent.status == "succeeded":
        return PayOutcome(intent.status, intent, complete_intent(intent, info))
    return PayOutcome(intent.status, intent)
