"""Analytics' part in checkout and landing: registered in ``checkout.hooks`` and
``landing.hooks`` by the app factory."""
from __future__ import annotations

from storefront.analytics.experiments import variant_for_view, variant_of_visit
from storefront.analytics.rollups import mark_dirty
from storefront.checkout import hooks
from storefront.landing import hooks as landing_hooks

# Statuses under which a cart is counted abandoned in the hour of its last change.
_COUNTED_ABANDONED = ("ABANDONED", "EXPIRED")


def _order_completed(order, cart) -> None:
    # The order's attribution records the variant its visit was shown (one query, only
    # while an experiment of the order's page runs).
    variant_id = variant_of_visit(order.visit_id, order.landing_page_id) if order is not None else None
    if variant_id is not None:  # assigning None would still cost an UPDATE
        order.experiment_variant_id = variant_id
    # Called before checkout marks the cart CONVERTED: an abandoned cart that converts now
    # leaves the abandoned count of the hour it was counted in.
    if cart.status in _COUNTED_ABANDONED and cart.updated_at is not None:
        mark_dirty(cart.company_id, cart.updated_at)


def install() -> None:
    """Register analytics' reactions to checkout and landing views (idempotent)."""
    hooks.register(hooks.order_completed, _order_completed)
    landing_hooks.register(landing_hooks.page_version, variant_for_view)
