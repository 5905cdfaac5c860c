"""The Stripe gateway for checkout: PaymentIntents, refunds and webhook signatures. With
``saved_cards`` (kept cards, off-session charges) and ``webhooks``, the only modules that
talk to Stripe (through ``stripe_api``).

In test mode without keys it talks to localstripe on 127.0.0.1 (STRIPE_API_BASE).
Every call that creates something carries an idempotency key.
"""
from __future__ import annotations

import re
import time

import stripe
from flask import current_app

from storefront.cart.models import Cart
from storefront.extensions import db

# PaymentError and UnknownObject are the gateway's errors: callers catch gateway.PaymentError.
from storefront.payments.stripe_api import (  # noqa: F401
    PaymentError,
    UnknownObject,
    client,
    retrieve_error,
    shopper_message,
)

# A webhook whose Stripe-Signature does not verify (or is too old or too far ahead).
SignatureError = stripe.SignatureVerificationError

# Stripe's own default (stripe.Webhook.DEFAULT_TOLERANCE), applied in both directions here.
SIGNATURE_TOLERANCE_SECONDS = 300


def ensure_payment_intent(cart: Cart, amount_cents: int, keep_card_for: str | None = None) -> stripe.PaymentIntent:
    """The PaymentIntent for the cart's current version, created once per version.

    ``amount_cents`` is the priced total (pricing.context.price_cart) in the cart's
    currency; metadata carries ``cart_id``.
    The idempotency key is the cart id and version, so a repeat click reuses the intent;
    a changed cart gets a new intent and the old one is cancelled. Commits the cart's
    intent id. Raises PaymentError when Stripe fails.

    ``keep_card_for`` is the Stripe Customer that keeps the card the shopper pays with (they
    agreed to it: a subscription's renewals): the intent is that Customer's and says so in
    ``metadata["keep_card"]``; with real keys it also carries ``setup_future_usage``
    (``saving_intent_params``), which localstripe refuses, so test mode saves the card
    through a SetupIntent first (``confirm_saved_card``).
    """
    api = client()
    try:
        if cart.payment_intent_id and cart.payment_intent_version == cart.version:
            intent = api.v1.payment_intents.retrieve(cart.payment_intent_id)
            if intent.status != "canceled" and intent.amount == amount_cents and intent.customer == keep_card_for:
                return intent
        if cart.payment_intent_id:
            _cancel_quietly(api, cart.payment_intent_id)
        params = {
            "amount": amount_cents,
            "currency": cart.currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {"cart_id": str(cart.id), "company_id": str(cart.company_id)},
        }
        key = f"cart-{cart.id}-v{cart.version}-{amount_cents}"
        if keep_card_for:
            params["metadata"]["keep_card"] = "1"
            params["customer"] = keep_card_for
            if not current_app.config.get("STRIPE_LOCAL"):
                params.update(saving_intent_params(keep_card_for))
            key += f"-{keep_card_for}"
        intent = api.v1.payment_intents.create(params=params, options={"idempotency_key": key})
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
    cart.payment_intent_id = intent.id
    cart.payment_intent_version = cart.version
    db.session.commit()
    return intent


def _cancel_quietly(api: stripe.StripeClient, intent_id: str) -> None:
    try:
        intent = api.v1.payment_intents.retrieve(intent_id)
        if intent.status in ("requires_payment_method", "requires_confirmation", "requires_action"):
            api.v1.payment_intents.cancel(intent_id)
    except stripe.StripeError:
        current_app.logger.warning("could not cancel the outdated PaymentIntent %s", intent_id)


def confirm_with_card(intent_id: str, card_id: str) -> stripe.PaymentIntent:
    """Attach a tokenised card (``card_...`` from Stripe.js createToken) and confirm.

    This is the test-mode path: localstripe's Stripe.js confirms only intents that already
    have a payment method. Raises PaymentError with the shopper-facing reason on a decline.
    """
    api = client()
    try:
        api.v1.payment_intents.update(intent_id, params={"payment_method": card_id})
        return api.v1.payment_intents.confirm(intent_id)
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def confirm_saved_card(intent_id: str, customer_id: str, payment_method_id: str) -> stripe.PaymentIntent:
    """Pay the intent with a card just saved on the Customer (test mode: a SetupIntent with
    ``usage=off_session`` saved it, ``attach_payment_method`` attached it). The shopper is
    present, so this is an on-session confirmation; a card that asks for authentication
    answers ``requires_action`` for Stripe.js. Raises PaymentError with the shopper-facing
    reason on a decline."""
    api = client()
    try:
        api.v1.payment_intents.update(intent_id, params={"customer": customer_id, "payment_method": payment_method_id})
        return api.v1.payment_intents.confirm(intent_id)
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def kept_card(intent) -> tuple[str, str] | None:
    """(Stripe Customer, PaymentMethod) the shopper agreed to keep with this paid intent
    (``metadata["keep_card"]``, set by ``ensure_payment_intent``), from Stripe's copy (an
    object or its dict); None when no card is kept."""
    data = intent if isinstance(intent, dict) else intent.to_dict()
    if (data.get("metadata") or {}).get("keep_card") != "1":
        return None
    customer, method = data.get("customer"), data.get("payment_method")
    customer = customer.get("id") if isinstance(customer, dict) else customer
    method = method.get("id") if isinstance(method, dict) else method
    if not (isinstance(customer, str) and _STRIPE_ID.fullmatch(customer)
            and isinstance(method, str) and _STRIPE_ID.fullmatch(method)):
        return None
    return customer, method


# A Stripe object id as stored: a short prefix, "_", then letters and digits.
_STRIPE_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]{1,200}")


def retrieve_payment_intent(intent_id: str) -> stripe.PaymentIntent:
    """Fetch Stripe's copy of an intent. Raises UnknownObject when Stripe has no such
    intent, PaymentError when Stripe cannot be reached or fails."""
    try:
        return client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as error:
        raise retrieve_error(error) from error


def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    """Fetch Stripe's copy of a hosted Checkout Session (``GET /v1/checkout/sessions/<id>``).

    Raises UnknownObject when Stripe has no such session, PaymentError when Stripe cannot
    be reached or fails. localstripe has no Checkout Sessions: the tests serve real
    session payloads at the same URL.
    """
    try:
        return client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as error:
        raise retrieve_error(error) from error


def refund_payment(intent_id: str, amount_cents: int, order_id: int) -> str:
    """Refund ``amount_cents`` of a PaymentIntent; returns the refund id.

    The idempotency key is the order's, so a retried job never refunds twice.
    Raises PaymentError when Stripe fails.
    """
    return refund_intent(intent_id, amount_cents, f"refund-order-{order_id}")


def refund_intent(intent_id: str, amount_cents: int, idempotency_key: str) -> str:
    """Refund ``amount_cents`` of a PaymentIntent under ``idempotency_key``; returns the
    refund id. Raises PaymentError when Stripe fails."""
    try:
        refund = client().v1.refunds.create(
            params={"payment_intent": intent_id, "amount": amount_cents},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
    return refund.id


def refunds_of(intent_id: str) -> list[str]:
    """The ids of the refunds Stripe holds for a PaymentIntent, newest first: asked before
    refunding again after a crash (localstripe ignores idempotency keys). Raises
    PaymentError when Stripe cannot be reached."""
    try:
        return [refund.id for refund in client().v1.refunds.list(
            params={"payment_intent": intent_id, "limit": 100}).auto_paging_iter()]
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def failure_message(intent) -> str:
    """The shopper-facing reason from ``last_payment_error`` of an intent (object or dict)."""
    error = intent.get("last_payment_error") if isinstance(intent, dict) else intent.last_payment_error
    message = (error or {}).get("message") if error else None
    return message or "Your card was declined. Please try another card."


def _signed_timestamp(header: str) -> int:
    """The header's first ``t=`` value, read exactly as ``verify_header`` read it when it
    checked the signature (so the time checked is the time that was signed)."""
    for item in header.split(","):
        parts = item.split("=", 2)
        if parts[0] == "t":
            return int(parts[1])
    raise SignatureError("No timestamp in the signature header", header)


def verify_signature(payload: str, signature: str | None,
                     tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None) -> int:
    """Check the ``Stripe-Signature`` header over the raw body (decoded as UTF-8) with
    STRIPE_WEBHOOK_SECRET; returns the signed timestamp (unix seconds).

    The timestamp must lie within ``tolerance`` seconds of ``now`` (default: the clock) in
    either direction: stripe's ``verify_header`` refuses only the past, and a signature
    dated in the future would stay replayable until that future passed.
    Raises SignatureError when it fails.
    """
    header = signature or ""
    stripe.WebhookSignature.verify_header(
        payload, header, current_app.config["STRIPE_WEBHOOK_SECRET"], tolerance=None
    )
    timestamp = _signed_timestamp(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"Timestamp outside the tolerance zone ({timestamp})", header, payload)
    return timestamp


def saving_intent_params(customer_id: str) -> dict:
    """The extra PaymentIntent parameters that save the card while paying, with real keys
    (Stripe's ``setup_future_usage``). localstripe refuses them: test mode uses a SetupIntent."""
    return {"customer": customer_id, "setup_future_usage": "off_session"}
