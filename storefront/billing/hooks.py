"""Billing's start-up wiring: the hook tables of lower domains it fills (ARCHITECTURE §2)."""
from __future__ import annotations

from storefront.checkout import hooks as checkout_hooks
from storefront.payments import hooks as payment_hooks


def install() -> None:
    """Let the Stripe webhook settle invoice and upsell PaymentIntents
    (``engine.settle_intent``, ``upsell.settle_intent``), an order with a subscribe-and-save
    line start its subscription (``selling.start_subscriptions``), and the order
    confirmation page offer the one-click upsell (``upsell_routes.render_offer``). Called
    by ``create_app``; idempotent."""
    from storefront.billing import upsell
    from storefront.billing.engine import settle_intent
    from storefront.billing.selling import start_subscriptions
    from storefront.billing.upsell_routes import render_offer

    payment_hooks.register(payment_hooks.intent_settled, settle_intent)
    payment_hooks.register(payment_hooks.intent_settled, upsell.settle_intent)
    checkout_hooks.register(checkout_hooks.order_completed, start_subscriptions)
    checkout_hooks.register(checkout_hooks.order_page, render_offer)
