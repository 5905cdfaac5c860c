"""Decline classification: every code of Stripe's decline-code list
(https://docs.stripe.com/declines/codes) is HARD, SOFT or NETWORK.

- HARD: retrying cannot succeed without the customer (a new card, a new authentication, a
  corrected number); never retried, the customer is asked for a new card (Stripe Smart
  Retries: "no retry on hard declines").
- SOFT: the bank may say yes later (funds arrive, a limit resets); retried on the plan's
  strategy.
- NETWORK: the processor or the issuer could not answer; retried quickly with backoff
  from 5 minutes (Kill Bill backs gateway errors off from 300 s).

localstripe has one decline (``card_declined`` with no ``decline_code``): a card error
without a decline code reads as ``generic_decline``.
"""
from __future__ import annotations

HARD = "HARD"
SOFT = "SOFT"
NETWORK = "NETWORK"

HARD_CODES = frozenset({
    "authentication_required", "card_not_supported", "currency_not_supported", "do_not_try_again",
    "duplicate_transaction", "expired_card", "fraudulent", "incorrect_cvc", "incorrect_number",
    "incorrect_pin", "incorrect_zip", "invalid_account", "invalid_amount", "invalid_cvc",
    "invalid_expiry_month", "invalid_expiry_year", "invalid_number", "invalid_pin", "lost_card",
    "merchant_blacklist", "new_account_information_available", "not_permitted",
    "offline_pin_required", "online_or_offline_pin_required", "pickup_card", "pin_try_exceeded",
    "restricted_card", "revocation_of_all_authorizations", "revocation_of_authorization",
    "security_violation", "service_not_allowed", "stolen_card", "stop_payment_order",
    "testmode_decline", "transaction_not_allowed",
})
SOFT_CODES = frozenset({
    "approve_with_id", "call_issuer", "card_velocity_exceeded", "do_not_honor", "generic_decline",
    "insufficient_funds", "no_action_taken", "try_again_later", "withdrawal_count_limit_exceeded",
})
NETWORK_CODES = frozenset({"issuer_not_available", "processing_error", "reenter_transaction"})
ALL_CODES = HARD_CODES | SOFT_CODES | NETWORK_CODES


def classify(decline_code: str | None, error_code: str | None = None, *, network: bool = False) -> str:
    """HARD, SOFT or NETWORK for a failed charge.

    ``decline_code`` is Stripe's ``decline_code`` (None when absent), ``error_code`` the
    error's ``code`` (``card_declined``, ``expired_card``, ``authentication_required``...),
    ``network`` True when Stripe itself could not be reached or answered a non-card error.
    An unknown code is SOFT: it follows the plan's limits rather than being retried fast or
    dropped.
    """
    if network:
        return NETWORK
    for code in (decline_code, error_code):
        if code in HARD_CODES:
            return HARD
        if code in NETWORK_CODES:
            return NETWORK
        if code in SOFT_CODES:
            return SOFT
    return SOFT


def customer_words(decline_class: str) -> str:
    """What the customer is told a decline means, by class."""
    if decline_class == HARD:
        return "Your bank declined the card and it can't be charged again. Please add a new card."
    if decline_class == NETWORK:
        return "The payment service didn't answer. We'll try again shortly; you don't need to do anything."
    return "Your bank declined the payment. We'll try again, or you can update your card now."
