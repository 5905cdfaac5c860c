"""The availability policy (in the spirit of Oscar's ``partner/strategy.py``): whether a
variant can be sold now, and how many. Add to cart, quantity changes, saved items and the
wishlist, the upsell, the returning-shopper merge, the drawer and order creation all ask
it; ``checkout.reservations`` applies the same rule in SQL under row locks.

A variant can be sold when its product is active and published and it has a unit: for a
tracked variant, stock minus the units other carts hold while their shoppers pay
(``Variant.available_for``: the asking cart's own hold is its own); for an untracked one,
its in-stock flag. At most ``PER_LINE_LIMIT`` (99) units go in one cart line.
"""
from __future__ import annotations

from dataclasses import dataclass

from storefront.catalog.models import Variant

PER_LINE_LIMIT = 99


class NotAvailable(ValueError):
    """The shopper cannot have what they asked for; ``str(error)`` says why ("Hoodie is out
    of stock.", "Only 2 of Hoodie left in stock.")."""


@dataclass(frozen=True)
class Availability:
    """``sellable``: can be bought now; ``units``: how many (None: not counted)."""

    sellable: bool
    units: int | None

    @property
    def line_limit(self) -> int:
        """The most units one cart line may hold: 0 when not sellable."""
        if not self.sellable:
            return 0
        return PER_LINE_LIMIT if self.units is None else min(PER_LINE_LIMIT, self.units)


def availability(variant: Variant, held: int = 0) -> Availability:
    """How ``variant`` (its product loaded) can be sold to a cart that itself holds ``held``
    reserved units of it."""
    product = variant.product
    units = variant.available_for(held)
    listed = product.status == "active" and product.published
    return Availability(sellable=listed and units != 0, units=units)


def check(variant: Variant, wanted: int, held: int = 0) -> None:
    """Raise NotAvailable unless ``wanted`` units of ``variant`` can be sold to a cart that
    holds ``held`` of them (see ``availability``)."""
    found = availability(variant, held)
    title = variant.product.title
    if not found.sellable:
        raise NotAvailable(f"{title} is out of stock.")
    if found.units is not None and wanted > found.units:
        raise NotAvailable(f"Only {found.units} of {title} left in stock.")
