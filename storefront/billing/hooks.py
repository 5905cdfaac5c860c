"""Billing's start-up wiring: the hook tables of lower domains it fills (ARCHITECTURE §2)."""
from __future__ import annotations

from storefront.payments import hooks as payment_hooks


def install() -> None:
    """Let the Stripe webhook settle invoice PaymentIntents (``engine.settle_intent``).
    Called by ``create_app``; idempotent."""
    from storefront.billing.engine import settle_intent

    payment_hooks.register(payment_hooks.intent_settled, settle_intent)
