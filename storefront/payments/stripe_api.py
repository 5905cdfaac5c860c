"""Stripe's client and errors for the payments package (``gateway`` for checkout's
intents, refunds and webhooks; ``saved_cards`` for kept cards and off-session charges).

In test mode without keys it talks to localstripe on 127.0.0.1 (STRIPE_API_BASE).
"""
from __future__ import annotations

import stripe
from flask import current_app


class PaymentError(Exception):
    """Stripe refused or failed; ``str(error)`` is safe to show the shopper."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class UnknownObject(PaymentError):
    """Stripe answered 404: it has no such object on this account (never created, or
    created under other keys)."""


def client() -> stripe.StripeClient:
    """A StripeClient for the configured key and API base (localstripe in test mode)."""
    base = current_app.config["STRIPE_API_BASE"]
    addresses = {"api": base} if base else None
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"], base_addresses=addresses, max_network_retries=1
    )


def shopper_message(error: stripe.StripeError) -> str:
    """What the shopper is told when Stripe refuses or fails: the card's own message, or
    that nothing was charged."""
    if isinstance(error, stripe.CardError):
        return error.user_message or "Your card was declined. Please try another card."
    if isinstance(error, stripe.APIConnectionError):
        return "We couldn't reach the payment service. Nothing was charged; please try again."
    return "The payment could not be processed. Nothing was charged; please try again."


def retrieve_error(error: stripe.StripeError) -> PaymentError:
    """The PaymentError for a failed retrieval: UnknownObject when Stripe answered 404."""
    if isinstance(error, stripe.InvalidRequestError) and error.http_status == 404:
        return UnknownObject("We couldn't find that payment.", getattr(error, "code", None))
    return PaymentError(shopper_message(error), getattr(error, "code", None))
