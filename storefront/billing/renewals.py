"""The Order of a paid renewal: one per invoice (``orders.origin_key = "invoice-<id>"``).

The merchant ships from orders, so a renewal is an order like any other: its lines (the
plan's variant times the subscription's quantity at the plan's price), stock taken by the
same conditional UPDATE checkout uses, the confirmation email (queued by the caller after
the commit), and attribution: source "SUBSCRIPTION", with the landing page and UTM tags of
the order the subscription was sold in.
"""
from __future__ import annotations

import logging

from storefront.billing.models import Invoice, Subscription
from storefront.catalog.models import Variant
from storefront.checkout.models import Customer, Order, OrderLine
from storefront.checkout.orders import next_order_number
from storefront.checkout.reservations import take_reserved_stock
from storefront.extensions import db
from storefront.types import new_token

log = logging.getLogger(__name__)

SOURCE = "SUBSCRIPTION"
NO_CART = 0  # no cart holds stock for a renewal: every active hold counts as another's


def origin_key(invoice_id: int) -> str:
    """The unique origin of an invoice's order."""
    return f"invoice-{invoice_id}"


def create_renewal_order(invoice: Invoice, sub: Subscription, *, amount_paid_cents: int, currency: str,
                         payment_intent_id: str | None) -> Order:
    """Add the invoice's Order to the session (flushed, not committed: the caller holds the
    invoice's row lock and commits). Status PAID, or NEEDS_REVIEW when the amount paid
    differs from the invoice or the stock ran out (nothing is taken then; the merchant
    decides). The caller has checked that the invoice has no order yet."""
    plan = sub.plan
    customer = db.session.get(Customer, sub.customer_id)
    variant = db.session.get(Variant, plan.variant_id) if plan.variant_id else None
    first = db.session.get(Order, sub.first_order_id) if sub.first_order_id else None
    status = "PAID"
    if amount_paid_cents != invoice.amount_cents or currency.upper() != invoice.currency.upper():
        log.warning("invoice %s: paid %s %s for %s %s", invoice.id, amount_paid_cents, currency,
                    invoice.amount_cents, invoice.currency)
        status = "NEEDS_REVIEW"
    if variant is not None and not take_reserved_stock(NO_CART, {variant.id: sub.quantity}):
        status = "NEEDS_REVIEW"
    name = " ".join(filter(None, [customer.first_name, customer.last_name])) if customer else ""
    order = Order(
        company_id=sub.company_id, number=next_order_number(sub.company_id), token=new_token(),
        origin_key=origin_key(invoice.id), customer_id=sub.customer_id,
        email=customer.email if customer else None, phone=sub.phone or (customer.phone if customer else None),
        shipping_name=name or None, shipping_address=dict(sub.shipping_address or {}),
        currency=invoice.currency, subtotal_cents=invoice.amount_cents, total_cents=invoice.amount_cents,
        amount_paid_cents=amount_paid_cents, status=status, payment_intent_id=payment_intent_id,
        source_type=SOURCE,
        landing_page_id=first.landing_page_id if first else None,
        utm_source=first.utm_source if first else None, utm_medium=first.utm_medium if first else None,
        utm_campaign=first.utm_campaign if first else None, utm_term=first.utm_term if first else None,
        utm_content=first.utm_content if first else None,
        lines=[OrderLine(
            variant_id=variant.id if variant else None,
            product_title=f"{variant.product.title if variant else plan.name} (subscription)",
            variant_title=variant.label if variant else "", sku=variant.sku if variant else None,
            unit_price_cents=plan.price_cents, quantity=sub.quantity, line_total_cents=invoice.amount_cents,
        )],
    )
    db.session.add(order)
    db.session.flush()
    invoice.order_id = order.id
    return order
