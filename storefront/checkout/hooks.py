"""What checkout tells the domains above it, without importing them (ARCHITECTURE §2).

Checkout sits below payments and leads. When a shopper's details are saved, an order is
made or a payment fails, the upper domains must react (the Lead is created, converted, its
timeline grows); they register their functions here at start-up (``create_app`` calls
``storefront.leads.hooks.install``), and checkout calls whatever is registered, inside its
own transaction.

- ``fields_saved(cart, visit, last_field)``: after the checkout fields changed, before the
  commit. ``last_field`` is the field just left, None for a whole-form submit.
- ``order_completed(order, cart)``: after the order's rows are written, before the commit.
- ``payment_failed(cart_id, code, decline_code, message)``: after the failure is committed.
- ``carts_of_email(company_id, email)``: more open cart ids the shopper typed ``email`` on
  (the returning-shopper merge reads them besides the carts' own fields).
- ``order_page(order) -> str | None``: HTML an upper domain adds to the order's
  confirmation page (billing's one-click upsell), already escaped; None for nothing.
"""
from __future__ import annotations

from collections.abc import Callable

fields_saved: list[Callable] = []
order_completed: list[Callable] = []
payment_failed: list[Callable] = []
carts_of_email: list[Callable] = []
order_page: list[Callable] = []


def register(table: list[Callable], func: Callable) -> None:
    """Add ``func`` to a hook table once (the factory may build several apps)."""
    if func not in table:
        table.append(func)


def call(table: list[Callable], *args) -> None:
    """Call every function of ``table`` with ``args``."""
    for func in table:
        func(*args)


def rendered(table: list[Callable], *args) -> list[str]:
    """The non-empty HTML fragments every function of ``table`` returns for ``args``."""
    return [html for func in table if (html := func(*args))]


def collect(table: list[Callable], *args) -> list:
    """The concatenated lists every function of ``table`` returns for ``args``."""
    found: list = []
    for func in table:
        found.extend(func(*args))
    return found
