"""Whether a cart can be paid now, decided once: the checkout half of Pay (payments only
talks to Stripe).

``prepare_payment`` saves the form that travels with the payment, checks the required
details, the discount code, the shipping address and method, then holds the tracked stock
(``reservations.reserve_cart``). It returns the CheckoutInfo priced for the charge, or
raises PaymentRefused with the shopper's message, the HTTP status the route answers, and
the fields to mark.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from storefront.cart.models import Cart
from storefront.checkout.fields import FIELD_NAMES, LABELS, missing_required, validate_field
from storefront.checkout.info import CheckoutInfo, fetch_checkout_info
from storefront.checkout.reservations import SoldOut, reserve_cart
from storefront.checkout.services import capture_form
from storefront.extensions import db
from storefront.visits.services import record_event


@dataclass
class PaymentRefused(Exception):
    """Pay cannot go on: ``message`` for the shopper, ``status`` (409 the cart's state,
    422 the form), ``fields`` {name: message} to mark, ``sold_out`` variant ids."""

    message: str
    status: int
    fields: dict[str, str] = field(default_factory=dict)
    sold_out: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def prepare_payment(cart: Cart | None, form) -> CheckoutInfo:
    """Decide whether ``cart`` can be paid now (see the module docstring); commits what it
    saves. Raises PaymentRefused."""
    if cart is None or not cart.lines:
        raise PaymentRefused("Your cart is empty.", 409)
    if any(name in form for name in FIELD_NAMES):
        # The form travels with the payment, so a field typed last (never blurred) is kept.
        errors = capture_form(cart, form).errors
        if errors:
            raise PaymentRefused("Please check the highlighted fields.", 422, fields=errors)
    missing = missing_required(cart.checkout_fields or {})
    if missing:
        raise PaymentRefused(
            "Please complete: " + ", ".join(LABELS[name] for name in missing) + ".", 422,
            # The message the form shows under an empty required field ("ZIP / postcode is required.").
            fields={name: validate_field(name, "").error for name in missing})
    info = fetch_checkout_info(cart)
    totals = info.priced.totals
    if info.priced.code_error:
        raise PaymentRefused(f"Your discount code can't be used: {info.priced.code_error} Remove it to continue.", 409)
    if totals.no_zone:
        raise PaymentRefused("Sorry, we don't ship to this address yet. Please use another address.", 409)
    if not totals.ready_to_pay:
        raise PaymentRefused("Please choose a shipping method.", 422)
    try:
        # Hold the stock before any PaymentIntent exists: a shopper who cannot have it is
        # told which item sold out, and is never charged and refunded.
        reserve_cart(cart)
    except SoldOut as error:
        raise PaymentRefused(str(error), 409, sold_out=[s.variant_id for s in error.shortages]) from error
    return info


def payment_submitted(info: CheckoutInfo, intent_id: str) -> None:
    """Record payment_submitted on the cart's visit with the intent and the total (cents).
    Commits."""
    record_event(info.visit, "payment_submitted",
                 {"payment_intent": intent_id, "total_cents": info.priced.totals.total_cents})
    db.session.commit()
