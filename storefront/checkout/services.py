"""Checkout rules: starting checkout, progressive capture of the form, the shipping method
and the discount code. Each function owns its transaction and returns what happened; the
routes alone render, flash, toast and add out-of-band fragments.
"""
from __future__ import annotations

from dataclasses import dataclass

from storefront.cart.info import CartInfo
from storefront.cart.lifecycle import merge_notice, shopper_identified
from storefront.cart.models import Cart
from storefront.cart.services import touch
from storefront.checkout import hooks
from storefront.checkout.fields import FieldResult, validate_all, validate_field
from storefront.checkout.info import CheckoutInfo
from storefront.checkout.phone_consent import (
    CONSENT_BOXES,
    TICKED,
    ConsentBoxError,
    phone_changed,
    set_box,
    ticked,
)
from storefront.extensions import db
from storefront.inputs import optional_int
from storefront.pricing.codes import check_for_cart, find_code
from storefront.types import utcnow
from storefront.visits.models import Visit
from storefront.visits.services import record_event


class CheckoutError(ValueError):
    """A shopper-facing reason the checkout cannot go on; ``str(error)`` is the message."""


@dataclass(frozen=True)
class Capture:
    """What saving checkout fields did: each field's result, and a ``notice`` for the
    shopper when earlier carts were merged into this one ("We added 2 items ...")."""

    results: dict[str, FieldResult]
    notice: str | None = None

    @property
    def errors(self) -> dict[str, str]:
        return {name: result.error for name, result in self.results.items() if result.error}


def _visit(cart: Cart) -> Visit | None:
    visit = db.session.get(Visit, cart.visit_id) if cart.visit_id else None
    return visit if visit is not None and visit.company_id == cart.company_id else None


def start_checkout(cart: Cart) -> None:
    """Record checkout_started once per cart. Commits when it records."""
    if cart.checkout_started_at is None:
        cart.checkout_started_at = utcnow()
        record_event(_visit(cart), "checkout_started", {"cart_version": cart.version})
        db.session.commit()


def capture_field(cart: Cart, name: str, raw: str | None) -> Capture:
    """Validate and save one field as the shopper leaves it; update the Lead. Commits.

    An invalid value is not saved (the last valid one stays). Raises KeyError for a field
    that is not on the form.
    """
    result = validate_field(name, raw, (cart.checkout_fields or {}).get("country"))
    return _save_fields(cart, {name: result}, last_field=name)


def capture_form(cart: Cart, form) -> Capture:
    """Validate and save the whole form in one request (the no-JavaScript path and Pay),
    with the text and call consent boxes (``phone_consent``: an absent box is unticked).
    Commits. Valid values are saved even when other fields have errors: nothing typed is lost.
    """
    results = validate_all(form)
    boxes: dict[str, bool] = {}
    for box in CONSENT_BOXES:
        try:
            boxes[box] = ticked(form.get(box))
        except ConsentBoxError as error:
            results[box] = FieldResult(box, "", str(error))
    return _save_fields(cart, results, last_field=None, boxes=boxes)


def capture_consent(cart: Cart, box: str, raw: str | None) -> Capture:
    """Tick or untick one consent box as the shopper clicks it (htmx): ``raw`` "yes" ticks,
    nothing unticks (``phone_consent``); the result's value is "yes" or "". A value no
    checkbox sends is an error and changes nothing. Commits. Raises KeyError for a name
    not in ``phone_consent.CONSENT_BOXES``."""
    try:
        on = ticked(raw)
    except ConsentBoxError as error:
        CONSENT_BOXES[box]  # noqa: B018 - an unknown box is a KeyError either way
        return Capture({box: FieldResult(box, "", str(error))})
    set_box(cart, box, on)
    db.session.commit()
    return Capture({box: FieldResult(box, TICKED if on else "", None)})


def _save_fields(cart: Cart, results: dict[str, FieldResult], last_field: str | None,
                 boxes: dict[str, bool] | None = None) -> Capture:
    """Keep the valid values on the cart (an emptied field is removed), let a newly typed
    email merge the shopper's earlier carts and saved items, move a ticked consent to a
    changed phone and set the posted ``boxes``, tell the hooks (the Lead), commit."""
    fields = dict(cart.checkout_fields or {})
    previous_email, previous_phone = fields.get("email"), fields.get("phone")
    for name, result in results.items():
        if result.error is None:
            if result.value:
                fields[name] = result.value
            else:
                fields.pop(name, None)
    cart.checkout_fields = fields
    if fields.get("phone") != previous_phone:
        phone_changed(cart, previous_phone, fields.get("phone"))
    for box, on in (boxes or {}).items():
        set_box(cart, box, on)
    notice = None
    if fields.get("email") and fields["email"] != previous_email:
        known = hooks.collect(hooks.carts_of_email, cart.company_id, fields["email"])
        added = shopper_identified(cart, fields["email"], known)
        notice = merge_notice(added) if added else None
    hooks.call(hooks.fields_saved, cart, _visit(cart), last_field)
    db.session.commit()
    return Capture(results, notice)


def choose_shipping(info: CheckoutInfo, raw_method_id: str | None) -> CheckoutInfo:
    """Set the cart's shipping method; returns the checkout re-totalled with it (no new
    pricing). Commits. Raises CheckoutError unless the id names a method the priced cart
    offers for the typed address."""
    method_id = optional_int(raw_method_id, 1)
    if method_id is None:
        raise CheckoutError("Choose a shipping method.")
    if not any(option.method.id == method_id for option in info.priced.totals.shipping_options):
        raise CheckoutError("That shipping method isn't available for your address.")
    info.cart.shipping_method_id = method_id
    touch(info.cart)
    db.session.commit()
    return info.with_method(method_id)


def apply_code(cart: Cart, lines: CartInfo, raw: str | None) -> None:
    """Put a discount code on the cart when it can be used now. Commits.

    Raises PromotionCodeError (invalid, not started, expired, used up, already used by this
    customer, below its minimum) and leaves the cart unchanged.
    """
    promotion, _single = find_code(cart.company_id, raw or "")
    check_for_cart(promotion, (cart.checkout_fields or {}).get("email"), lines.subtotal_cents, lines.currency)
    cart.promotion_code = (raw or "").strip().upper()
    touch(cart)
    db.session.commit()


def remove_code(cart: Cart) -> None:
    """Take the discount code off the cart. Commits."""
    cart.promotion_code = None
    touch(cart)
    db.session.commit()

