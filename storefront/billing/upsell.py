"""The one-click post-purchase upsell (ARCHITECTURE §6, "Saved cards and off-session charges").

When the shopper agreed to keep their card (``Order.payment_method_id``), the order's
confirmation page offers the merchant's one product (``UpsellOffer``). One click charges the
kept card off-session (``off_session=true, confirm=true``) and makes a linked order with the
first order's attribution and the source "UPSELL".

Charging once under a double click, two tabs or a crash:
1. ``UpsellPurchase`` (unique per order) is committed before any charge.
2. The charge runs under that row's lock, taken with SKIP LOCKED: a second click while the
   first charges is told it is under way, never charges.
3. A click that finds the row still CHARGING after a crash first asks Stripe for the intent
   made under the row's key (its metadata: localstripe ignores idempotency keys), and
   charges only when there is none.
4. ``settle`` is the one transition from a charge's answer to the database, shared by the
   click, the shopper's confirmation after ``requires_action`` and the webhook
   (``settle_intent``); it is a no-op once the purchase is SUCCEEDED or FAILED.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storefront.billing.renewals import NO_CART
from storefront.billing.upsell_models import UpsellOffer, UpsellPurchase
from storefront.catalog.models import Variant
from storefront.checkout.models import Order, OrderLine
from storefront.checkout.orders import next_order_number
from storefront.checkout.reservations import take_reserved_stock
from storefront.extensions import db
from storefront.payments import gateway, saved_cards
from storefront.payments.services import after_order
from storefront.types import new_token, utcnow

log = logging.getLogger(__name__)

SOURCE = "UPSELL"
KEY_PREFIX = "upsell-"
DECLINED = "Your card was declined, so nothing was charged and nothing was added."


class UpsellError(ValueError):
    """The offer cannot be bought from this order; ``str(error)`` is safe to show."""


@dataclass(frozen=True)
class Offer:
    """What the confirmation page offers: the variant, its title and price, and the
    merchant's headline. ``purchase`` is this order's purchase of it, if any."""

    variant_id: int
    title: str
    price_cents: int
    currency: str
    headline: str
    purchase: UpsellPurchase | None = None


def offer_for(order: Order) -> Offer | None:
    """The offer the confirmation page of ``order`` shows, or None: the order must keep a
    card and not be an upsell itself, and the merchant's offer must be active with a variant
    that is in stock. A purchase already made from the order is returned with it (even if
    the offer changed since)."""
    if not order.payment_method_id or order.source_type == SOURCE:
        return None
    purchase = db.session.execute(select(UpsellPurchase).filter_by(order_id=order.id)).scalar_one_or_none()
    row = db.session.execute(
        select(UpsellOffer, Variant).join(Variant, Variant.id == UpsellOffer.variant_id)
        .where(UpsellOffer.company_id == order.company_id, Variant.company_id == order.company_id)
    ).one_or_none()
    if purchase is not None:
        return Offer(purchase.variant_id or 0, purchase.product_title, purchase.amount_cents, purchase.currency,
                     row[0].headline if row else "", purchase)
    if row is None:
        return None
    offer, variant = row
    if not offer.active or not variant.in_stock or variant.product.status != "active":
        return None
    title = variant.product.title + (f" ({variant.label})" if variant.label else "")
    return Offer(variant.id, title, variant.price_cents, order.currency, offer.headline)


def buy(order: Order, variant_raw: str | None) -> UpsellPurchase | None:
    """One click on the offer from ``order``'s confirmation page. ``variant_raw`` is the
    variant the page showed: a stale or tampered one is refused. Returns the purchase in
    its state after this click (SUCCEEDED, REQUIRES_ACTION, FAILED, or CHARGING when the
    charge's answer is not known yet), or None when another click holds it right now (it
    is being charged). Raises UpsellError when nothing is offered or the offer changed."""
    offer = offer_for(order)
    if offer is None:
        raise UpsellError("This offer is no longer available.")
    if offer.purchase is None and (variant_raw or "") != str(offer.variant_id):
        raise UpsellError("This offer changed. Please look at it again.")
    fresh = offer.purchase is None and _claim(order, offer)
    purchase = db.session.execute(
        select(UpsellPurchase).filter_by(order_id=order.id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if purchase is None:
        db.session.rollback()
        return None
    if purchase.status != "CHARGING":
        db.session.commit()
        return purchase
    charge = None
    if not fresh:
        # A crash may have charged without recording it: look before charging again.
        try:
            charge = saved_cards.find_intent(order.stripe_customer_id, purchase.idempotency_key)
        except gateway.PaymentError:
            db.session.commit()
            return purchase
    if charge is None:
        charge = saved_cards.charge_off_session(
            customer_id=order.stripe_customer_id, payment_method_id=order.payment_method_id,
            amount_cents=purchase.amount_cents, currency=purchase.currency,
            idempotency_key=purchase.idempotency_key,
            metadata={"upsell_id": str(purchase.id), "company_id": str(purchase.company_id)})
    return _apply(purchase, order, charge)


def _claim(order: Order, offer: Offer) -> bool:
    """Commit this order's purchase row before any charge; False when another click made it
    first (the unique order_id)."""
    purchase = UpsellPurchase(company_id=order.company_id, order_id=order.id, variant_id=offer.variant_id,
                              product_title=offer.title, amount_cents=offer.price_cents, currency=offer.currency)
    db.session.add(purchase)
    try:
        db.session.flush()
        purchase.idempotency_key = f"{KEY_PREFIX}{purchase.id}"
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def settle(purchase_id: int, charge: saved_cards.Charge) -> UpsellPurchase:
    """Apply a charge's answer to the purchase (locked), once. Commits."""
    purchase = db.session.execute(
        select(UpsellPurchase).where(UpsellPurchase.id == purchase_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    order = db.session.get(Order, purchase.order_id)
    return _apply(purchase, order, charge)


def _apply(purchase: UpsellPurchase, order: Order, charge: saved_cards.Charge) -> UpsellPurchase:
    """The transition under the purchase's row lock (held by the caller). Commits; queues
    the new order's confirmation email after the commit."""
    if purchase.status in ("SUCCEEDED", "FAILED"):
        db.session.commit()
        return purchase
    if charge.intent_id:
        purchase.payment_intent_id = charge.intent_id
    made = None
    if charge.status == "succeeded":
        made = _linked_order(purchase, order, charge)
        purchase.status, purchase.message, purchase.finished_at = "SUCCEEDED", None, utcnow()
    elif charge.status == "requires_action":
        purchase.status = "REQUIRES_ACTION"
        purchase.message = "Your bank asks you to confirm this payment."
    elif charge.status == "requires_payment_method":
        purchase.status, purchase.finished_at = "FAILED", utcnow()
        purchase.message = DECLINED
    else:
        # "processing", or Stripe could not be reached: the answer comes later (webhook,
        # or the next click looks the intent up by its key).
        purchase.message = "We're still waiting for the payment service's answer."
    db.session.commit()
    if made is not None:
        after_order(made)
    return purchase


def _linked_order(purchase: UpsellPurchase, first: Order, charge: saved_cards.Charge) -> Order:
    """The upsell's own order (flushed): one line, stock taken like a renewal's, shipped to
    the first order's address, with its attribution and the source "UPSELL"; NEEDS_REVIEW
    when the amount charged differs or the stock ran out."""
    status = "PAID"
    if charge.amount_cents != purchase.amount_cents or (charge.currency or "").upper() != purchase.currency.upper():
        status = "NEEDS_REVIEW"
    variant = db.session.get(Variant, purchase.variant_id) if purchase.variant_id else None
    if variant is not None and not take_reserved_stock(NO_CART, {variant.id: purchase.quantity}):
        status = "NEEDS_REVIEW"
    order = Order(
        company_id=first.company_id, number=next_order_number(first.company_id), token=new_token(),
        origin_key=f"upsell-order-{first.id}", customer_id=first.customer_id, email=first.email, phone=first.phone,
        shipping_name=first.shipping_name, shipping_address=dict(first.shipping_address or {}),
        currency=purchase.currency, subtotal_cents=purchase.amount_cents, total_cents=purchase.amount_cents,
        amount_paid_cents=charge.amount_cents or 0, status=status, payment_intent_id=charge.intent_id,
        stripe_customer_id=first.stripe_customer_id, payment_method_id=first.payment_method_id,
        source_type=SOURCE, landing_page_id=first.landing_page_id, visit_id=first.visit_id,
        utm_source=first.utm_source, utm_medium=first.utm_medium, utm_campaign=first.utm_campaign,
        utm_term=first.utm_term, utm_content=first.utm_content,
        lines=[OrderLine(
            variant_id=variant.id if variant else None, product_title=purchase.product_title,
            variant_title="", sku=variant.sku if variant else None, unit_price_cents=purchase.amount_cents,
            quantity=purchase.quantity, line_total_cents=purchase.amount_cents,
        )],
    )
    db.session.add(order)
    db.session.flush()
    purchase.upsell_order_id = order.id
    return order


def confirm(order: Order) -> UpsellPurchase | None:
    """After the shopper confirmed with their bank on the page (Stripe.js): settle the
    purchase from Stripe's copy of its intent. None when there is nothing to confirm.
    Raises gateway.PaymentError when Stripe cannot be reached."""
    purchase = db.session.execute(select(UpsellPurchase).filter_by(order_id=order.id)).scalar_one_or_none()
    if purchase is None or purchase.payment_intent_id is None:
        return None
    if purchase.status != "REQUIRES_ACTION":
        return purchase
    charge = saved_cards.charge_from_intent(gateway.retrieve_payment_intent(purchase.payment_intent_id))
    if charge.status == "requires_action":
        return purchase  # not confirmed yet
    return settle(purchase.id, charge)


def settle_intent(intent: dict) -> str | None:
    """The webhook's way in (``payments.hooks.intent_settled``): Stripe's copy of an intent
    whose metadata names an upsell purchase settles it. None for other intents."""
    key = (intent.get("metadata") or {}).get("attempt_key") or ""
    if not key.startswith(KEY_PREFIX):
        return None
    purchase_id = db.session.execute(
        select(UpsellPurchase.id).where(UpsellPurchase.idempotency_key == key)).scalar_one_or_none()
    if purchase_id is None:
        return None
    charge = saved_cards.charge_from_intent(intent)
    if charge.status in ("requires_action", "processing"):
        return "pending"
    before = db.session.get(UpsellPurchase, purchase_id).status
    after = settle(purchase_id, charge).status
    return "already" if before == after else after.lower()
