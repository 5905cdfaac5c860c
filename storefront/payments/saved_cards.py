"""Kept cards and off-session charges (subscriptions, the one-click upsell): Stripe
Customers, SetupIntents, PaymentMethods and charges without the customer.
"""
from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import current_app

from storefront.payments.stripe_api import PaymentError, client, retrieve_error, shopper_message

# Two ways to keep a card for later (ARCHITECTURE §6). With real keys, the checkout's
# PaymentIntent carries ``setup_future_usage="off_session"`` and a Customer, so paying also
# saves the card (``gateway.saving_intent_params``). localstripe refuses that parameter, so in test
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
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
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
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def retrieve_setup_intent(setup_intent_id: str) -> stripe.SetupIntent:
    """Stripe's copy of a SetupIntent. Raises UnknownObject or PaymentError."""
    try:
        return client().v1.setup_intents.retrieve(setup_intent_id)
    except stripe.StripeError as error:
        raise retrieve_error(error) from error


def confirm_setup_intent(setup_intent_id: str, payment_method_id: str) -> stripe.SetupIntent:
    """Confirm a SetupIntent with a PaymentMethod (test mode: localstripe's Stripe.js hands
    the server a ``pm_``). Raises PaymentError on a refused card."""
    try:
        return client().v1.setup_intents.confirm(setup_intent_id, params={"payment_method": payment_method_id})
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def attach_payment_method(payment_method_id: str, customer_id: str) -> None:
    """Attach a PaymentMethod to a Customer (needed before an off-session charge; a no-op
    when it is already attached to that Customer). Raises PaymentError."""
    api = client()
    try:
        method = api.v1.payment_methods.retrieve(payment_method_id).to_dict()
        if method.get("customer") != customer_id:
            api.v1.payment_methods.attach(payment_method_id, params={"customer": customer_id})
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


def describe_payment_method(payment_method_id: str) -> dict:
    """{"brand", "last4", "exp_month", "exp_year"} of a saved card, for the customer's list
    (never the number). Raises PaymentError."""
    try:
        card = client().v1.payment_methods.retrieve(payment_method_id).to_dict().get("card") or {}
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
    return {key: card.get(key) for key in ("brand", "last4", "exp_month", "exp_year")}


def detach_payment_method(payment_method_id: str) -> None:
    """Detach a saved card from its Customer: it can no longer be charged. A card already
    detached (or unknown to Stripe) counts as done. Raises PaymentError on other errors."""
    try:
        client().v1.payment_methods.detach(payment_method_id)
    except stripe.InvalidRequestError as error:
        if getattr(error, "http_status", None) != 404 and "attached" not in str(error).lower():
            raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
    except stripe.StripeError as error:
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error


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
        raise PaymentError(shopper_message(error), getattr(error, "code", None)) from error
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
