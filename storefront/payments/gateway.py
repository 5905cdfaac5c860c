"""The Stripe gateway: the only module, with ``webhooks``, that talks to Stripe.

In test mode without keys it talks to localstripe on 127.0.0.1 (STRIPE_API_BASE).
Every call that creates something carries an idempotency key.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import stripe
from flask import current_app

from storefront.cart.models import Cart
from storefront.extensions import db


class PaymentError(Exception):
    """Stripe refused or failed; ``str(error)`` is safe to show the shopper."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class UnknownObject(PaymentError):
    """Stripe answered 404: it has no such object on this account (never created, or
    created under other keys)."""


# A webhook whose Stripe-Signature does not verify (or is too old or too far ahead).
SignatureError = stripe.SignatureVerificationError

# Stripe's own default (stripe.Webhook.DEFAULT_TOLERANCE), applied in both directions here.
SIGNATURE_TOLERANCE_SECONDS = 300


def client() -> stripe.StripeClient:
    """A StripeClient for the configured key and API base (localstripe in test mode)."""
    base = current_app.config["STRIPE_API_BASE"]
    addresses = {"api": base} if base else None
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"], base_addresses=addresses, max_network_retries=1
    )


def _shopper_message(error: stripe.StripeError) -> str:
    if isinstance(error, stripe.CardError):
        return error.user_message or "Your card was declined. Please try another card."
    if isinstance(error, stripe.APIConnectionError):
        return "We couldn't reach the payment service. Nothing was charged; please try again."
    return "The payment could not be processed. Nothing was charged; please try again."


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
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
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
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


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
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


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


def _retrieve_error(error: stripe.StripeError) -> PaymentError:
    if isinstance(error, stripe.InvalidRequestError) and error.http_status == 404:
        return UnknownObject("We couldn't find that payment.", getattr(error, "code", None))
    return PaymentError(_shopper_message(error), getattr(error, "code", None))


def retrieve_payment_intent(intent_id: str) -> stripe.PaymentIntent:
    """Fetch Stripe's copy of an intent. Raises UnknownObject when Stripe has no such
    intent, PaymentError when Stripe cannot be reached or fails."""
    try:
        return client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as error:
        raise _retrieve_error(error) from error


def retrieve_checkout_session(session_id: str) -> stripe.checkout.Session:
    """Fetch Stripe's copy of a hosted Checkout Session (``GET /v1/checkout/sessions/<id>``).

    Raises UnknownObject when Stripe has no such session, PaymentError when Stripe cannot
    be reached or fails. localstripe has no Checkout Sessions: the tests serve real
    session payloads at the same URL.
    """
    try:
        return client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as error:
        raise _retrieve_error(error) from error


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
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
    return refund.id


def refunds_of(intent_id: str) -> list[str]:
    """The ids of the refunds Stripe holds for a PaymentIntent, newest first: asked before
    refunding again after a crash (localstripe ignores idempotency keys). Raises
    PaymentError when Stripe cannot be reached."""
    try:
        return [refund.id for refund in client().v1.refunds.list(
            params={"payment_intent": intent_id, "limit": 100}).auto_paging_iter()]
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


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


# --- Saved cards and off-session charges (subscriptions, one-click upsell) -----------------
#
# Two ways to keep a card for later (ARCHITECTURE §6). With real keys, the checkout's
# PaymentIntent carries ``setup_future_usage="off_session"`` and a Customer, so paying also
# saves the card (``saving_intent_params``). localstripe refuses that parameter, so in test
# mode the card is saved through a SetupIntent (``usage="off_session"``) and its
# PaymentMethod attached to the Customer (``create_setup_intent`` + ``attach_payment_method``).


@dataclass(frozen=True)
class Charge:
    """The answer to an off-session charge.

    ``status`` is the PaymentIntent's status ("succeeded", "requires_action",
    "requires_payment_method", "processing") or "error" when Stripe could not be reached or
    answered a non-card error (then ``network`` is True and no intent may exist).
    ``amount_cents``/``currency`` are Stripe's; ``code``/``decline_code``/``message`` come from
    the card error or ``last_payment_error``.
    """

    intent_id: str | None
    status: str
    amount_cents: int | None = None
    currency: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    network: bool = False
    metadata: dict | None = None


def charge_from_intent(intent) -> Charge:
    """A Charge read from a PaymentIntent (a StripeObject or its dict)."""
    data = intent if isinstance(intent, dict) else intent.to_dict()
    error = data.get("last_payment_error") or {}
    return Charge(
        intent_id=data.get("id"), status=data.get("status") or "error", amount_cents=data.get("amount"),
        currency=(data.get("currency") or "").upper() or None, code=error.get("code"),
        decline_code=error.get("decline_code"), message=error.get("message"),
        metadata=dict(data.get("metadata") or {}),
    )


def create_customer(email: str, *, company_id: int, idempotency_key: str) -> str:
    """A Stripe Customer for a shopper who keeps a card; returns its id (``cus_...``).
    Raises PaymentError."""
    try:
        customer = client().v1.customers.create(
            params={"email": email, "metadata": {"company_id": str(company_id)}},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
    return customer.id


def create_setup_intent(customer_id: str, metadata: dict[str, str]) -> stripe.SetupIntent:
    """A SetupIntent with ``usage="off_session"`` for the Customer: Stripe.js confirms it with
    the card, and the card can then be charged without the shopper. Raises PaymentError."""
    try:
        return client().v1.setup_intents.create(params={
            "customer": customer_id, "usage": "off_session", "payment_method_types": ["card"],
            "metadata": metadata,
        })
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


def retrieve_setup_intent(setup_intent_id: str) -> stripe.SetupIntent:
    """Stripe's copy of a SetupIntent. Raises UnknownObject or PaymentError."""
    try:
        return client().v1.setup_intents.retrieve(setup_intent_id)
    except stripe.StripeError as error:
        raise _retrieve_error(error) from error


def confirm_setup_intent(setup_intent_id: str, payment_method_id: str) -> stripe.SetupIntent:
    """Confirm a SetupIntent with a PaymentMethod (test mode: localstripe's Stripe.js hands
    the server a ``pm_``). Raises PaymentError on a refused card."""
    try:
        return client().v1.setup_intents.confirm(setup_intent_id, params={"payment_method": payment_method_id})
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


def attach_payment_method(payment_method_id: str, customer_id: str) -> None:
    """Attach a PaymentMethod to a Customer (needed before an off-session charge; a no-op
    when it is already attached to that Customer). Raises PaymentError."""
    api = client()
    try:
        method = api.v1.payment_methods.retrieve(payment_method_id).to_dict()
        if method.get("customer") != customer_id:
            api.v1.payment_methods.attach(payment_method_id, params={"customer": customer_id})
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


def describe_payment_method(payment_method_id: str) -> dict:
    """{"brand", "last4", "exp_month", "exp_year"} of a saved card, for the customer's list
    (never the number). Raises PaymentError."""
    try:
        card = client().v1.payment_methods.retrieve(payment_method_id).to_dict().get("card") or {}
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
    return {key: card.get(key) for key in ("brand", "last4", "exp_month", "exp_year")}


def detach_payment_method(payment_method_id: str) -> None:
    """Detach a saved card from its Customer: it can no longer be charged. A card already
    detached (or unknown to Stripe) counts as done. Raises PaymentError on other errors."""
    try:
        client().v1.payment_methods.detach(payment_method_id)
    except stripe.InvalidRequestError as error:
        if getattr(error, "http_status", None) != 404 and "attached" not in str(error).lower():
            raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error


def saving_intent_params(customer_id: str) -> dict:
    """The extra PaymentIntent parameters that save the card while paying, with real keys
    (Stripe's ``setup_future_usage``). localstripe refuses them: test mode uses a SetupIntent."""
    return {"customer": customer_id, "setup_future_usage": "off_session"}


def find_intent(customer_id: str | None, key: str, field: str = "attempt_key") -> Charge | None:
    """The PaymentIntent already made for the Customer under ``metadata[field] == key``, if
    any (newest first). The Customer must match too: keys restart with a new database, and
    another installation on the same Stripe account may have used the same key.

    A retried job asks this before charging again: localstripe ignores idempotency keys, and
    a job killed after the charge but before its commit must not charge twice. Real Stripe
    lists a Customer's intents consistently (the search API lags a minute); localstripe
    lists only every intent, so the list is scanned. Raises PaymentError when Stripe cannot
    be reached (the caller must not charge then).
    """
    api = client()
    params: dict = {"limit": 100}
    if customer_id and not current_app.config.get("STRIPE_LOCAL"):
        params["customer"] = customer_id
    try:
        for intent in api.v1.payment_intents.list(params=params).auto_paging_iter():
            data = intent.to_dict()
            mine = customer_id is None or data.get("customer") == customer_id
            if mine and (data.get("metadata") or {}).get(field) == key:
                return charge_from_intent(data)
    except stripe.StripeError as error:
        raise PaymentError(_shopper_message(error), getattr(error, "code", None)) from error
    return None


def charge_off_session(*, customer_id: str, payment_method_id: str, amount_cents: int, currency: str,
                       idempotency_key: str, metadata: dict[str, str]) -> Charge:
    """Charge a saved card without the customer (``off_session=true, confirm=true``).

    ``amount_cents`` in ``currency``; ``idempotency_key`` is the attempt's key and is also
    put in ``metadata["attempt_key"]`` so ``find_intent`` can find the intent again. Never
    raises for a refusal: a card error answers the intent's state (found again by its
    metadata, since the error names only the charge), a connection or API error answers
    ``Charge(status="error", network=True)``. Real Stripe raises ``authentication_required``
    where localstripe answers ``requires_action``: both become status "requires_action".
    """
    metadata = {**metadata, "attempt_key": idempotency_key}
    try:
        intent = client().v1.payment_intents.create(
            params={"amount": amount_cents, "currency": currency.lower(), "customer": customer_id,
                    "payment_method": payment_method_id, "payment_method_types": ["card"],
                    "off_session": True, "confirm": True, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as error:
        found = _found_quietly(customer_id, idempotency_key)
        code = getattr(error, "code", None)
        decline = (error.error.decline_code if error.error else None) or None
        status = "requires_action" if code == "authentication_required" else "requires_payment_method"
        return Charge(
            intent_id=found.intent_id if found else None, status=found.status if found and code != "authentication_required" else status,
            amount_cents=amount_cents, currency=currency.upper(), code=code,
            decline_code=decline or (found.decline_code if found else None),
            message=error.user_message or str(error), metadata=metadata,
        )
    except stripe.StripeError as error:
        return Charge(intent_id=None, status="error", code=getattr(error, "code", None),
                      message=str(error)[:300], network=True, metadata=metadata)
    return charge_from_intent(intent)


def _found_quietly(customer_id: str, key: str) -> Charge | None:
    try:
        return find_intent(customer_id, key)
    except PaymentError:
        return None
