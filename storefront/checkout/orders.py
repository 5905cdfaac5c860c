"""Orders: creating the Order of a paid cart exactly once, and what happens to it later.

``complete_order`` is the one path to an order, from the webhook, the shopper's return, or
a hosted Checkout Session: it locks the cart row, and returns the existing order when one
was already made (Saleor's complete_checkout does the same).
"""
from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.cart.services import USABLE_STATUSES
from storefront.checkout import hooks
from storefront.checkout.info import CheckoutInfo, fetch_checkout_info
from storefront.checkout.models import Customer, Order, OrderLine
from storefront.checkout.promotion_usage import record_promotion_usage
from storefront.checkout.reservations import take_reserved_stock
from storefront.extensions import db
from storefront.types import new_token, utcnow
from storefront.visits.services import record_event

log = logging.getLogger(__name__)


def _next_order_number(company_id: int) -> str:
    # A conditional UPDATE ... RETURNING serialises concurrent orders of one merchant.
    seq = db.session.execute(
        update(Company)
        .where(Company.id == company_id)
        .values(order_number_seq=Company.order_number_seq + 1)
        .returning(Company.order_number_seq)
    ).scalar_one()
    return str(seq)


# The merchant's next order number, for orders made without a cart (renewals, upsells).
next_order_number = _next_order_number


def _customer_for(company_id: int, fields: dict) -> Customer | None:
    email = fields.get("email")
    if not email:
        return None
    customer = db.session.execute(
        db.select(Customer).filter_by(company_id=company_id, email=email)
    ).scalar_one_or_none()
    if customer is None:
        customer = Customer(company_id=company_id, email=email)
        db.session.add(customer)
    customer.first_name = fields.get("first_name") or customer.first_name
    customer.last_name = fields.get("last_name") or customer.last_name
    customer.phone = fields.get("phone") or customer.phone
    db.session.flush()
    return customer


def existing_order(cart_id: int) -> Order | None:
    """The order already made from this cart, if any."""
    return db.session.execute(db.select(Order).filter_by(cart_id=cart_id)).scalar_one_or_none()


def complete_order(
    cart_id: int,
    *,
    amount_paid_cents: int,
    currency: str,
    payment_intent_id: str | None = None,
    checkout_session_id: str | None = None,
    email: str | None = None,
    company_id: int | None = None,
    info: CheckoutInfo | None = None,
    kept_card: tuple[str, str] | None = None,
) -> tuple[Order, bool]:
    """Create the Order for a paid cart exactly once; returns (order, created).

    Locks the cart row, so the webhook and the shopper's return can race safely; the unique
    ``orders.cart_id`` backs this up where ``FOR UPDATE`` is ignored (SQLite). Snapshots
    lines and prices, turns the stock Pay reserved into the sale (``reservations.
    take_reserved_stock``; an order whose hold expired and whose stock went meanwhile gets
    status REFUND_PENDING and takes no stock: payments refunds it), records
    promotion usage under row locks, creates or links the Customer by email,
    converts the Lead, marks the cart CONVERTED, sets the visit's ``converted_at`` and copies
    the attribution. An order whose paid amount differs from the cart total, or whose stock
    ran out, gets status NEEDS_REVIEW. Commits. Raises LookupError for an unknown cart, or
    for a cart of another merchant than ``company_id`` when that is given.

    ``info`` is the CheckoutInfo the caller priced in this request (Pay): it is used when the
    locked cart is still at the version it was priced at, so the order's totals are the ones
    charged and the cart is priced once; otherwise (the webhook, a changed cart) the cart is
    priced again under the lock.

    ``kept_card`` is (Stripe Customer, PaymentMethod) when the shopper agreed to keep the
    card they paid with (``payments.gateway.kept_card``): the order keeps it, for the
    subscriptions the ``order_completed`` hooks start and the one-click upsell.
    """
    cart = db.session.execute(
        db.select(Cart).filter_by(id=cart_id).with_for_update()
    ).scalar_one_or_none()
    if cart is None or (company_id is not None and cart.company_id != company_id):
        db.session.rollback()
        raise LookupError(f"no cart {cart_id} for this merchant")
    order = existing_order(cart.id)
    if order is not None:
        db.session.rollback()
        return order, False

    if info is None or info.cart is None or info.cart.id != cart.id or info.cart.version != cart.version:
        info = fetch_checkout_info(cart)
    totals = info.priced.totals
    fields = dict(cart.checkout_fields or {})
    if email and not fields.get("email"):
        fields["email"] = email.lower()
    visit = info.visit
    customer = _customer_for(cart.company_id, fields)
    status = "PAID"
    if amount_paid_cents != totals.total_cents or currency.upper() != cart.currency.upper():
        log.warning("cart %s: paid %s %s but the total is %s %s", cart.id, amount_paid_cents, currency,
                    totals.total_cents, cart.currency)
        status = "NEEDS_REVIEW"
    # The hold Pay took becomes the sale (variant rows locked in id order). Only when that
    # hold expired and the stock went meanwhile is nothing taken and the payment refunded.
    if not take_reserved_stock(cart.id, {line.variant_id: line.quantity for line in info.lines}):
        status = "REFUND_PENDING"
    order = Order(
        company_id=cart.company_id,
        number=_next_order_number(cart.company_id),
        token=new_token(),
        cart_id=cart.id,
        customer_id=customer.id if customer else None,
        email=fields.get("email"),
        phone=fields.get("phone"),
        shipping_name=" ".join(filter(None, [fields.get("first_name"), fields.get("last_name")])) or None,
        shipping_address={k: fields[k] for k in ("address1", "address2", "city", "postcode", "country") if fields.get(k)},
        currency=cart.currency,
        subtotal_cents=totals.subtotal_cents,
        discount_cents=totals.discount_cents,
        shipping_cents=totals.shipping_after_discount_cents,
        tax_cents=totals.tax_cents,
        total_cents=totals.total_cents,
        shipping_method=totals.shipping_method.name if totals.shipping_method else None,
        promotion_code=cart.promotion_code,
        amount_paid_cents=amount_paid_cents,
        status=status,
        payment_intent_id=payment_intent_id,
        checkout_session_id=checkout_session_id,
        stripe_customer_id=kept_card[0] if kept_card else None,
        payment_method_id=kept_card[1] if kept_card else None,
        landing_page_id=cart.landing_page_id,
        visit_id=cart.visit_id,
        source_type=cart.source_type,
        utm_source=visit.utm_source if visit else None,
        utm_medium=visit.utm_medium if visit else None,
        utm_campaign=visit.utm_campaign if visit else None,
        utm_term=visit.utm_term if visit else None,
        utm_content=visit.utm_content if visit else None,
        lines=[
            OrderLine(
                variant_id=line.variant_id,
                product_title=line.product_title,
                variant_title=line.variant_label,
                sku=line.sku,
                unit_price_cents=line.unit_price_cents,
                quantity=line.quantity,
                line_total_cents=line.line_total_cents,
                discount_cents=totals.discounts.per_line.get(line.variant_id, 0),
                tax_cents=totals.line_tax.get(line.variant_id, 0),
            )
            for line in info.lines
        ],
    )
    db.session.add(order)
    db.session.flush()
    if status != "REFUND_PENDING" and not record_promotion_usage(order, cart.promotion_code, totals.discounts.applied):
        order.status = "NEEDS_REVIEW"
    hooks.call(hooks.order_completed, order, cart)
    cart.status = "CONVERTED"
    cart.payment_error = None
    if visit is not None and visit.converted_at is None:
        visit.converted_at = utcnow()
    record_event(visit, "order_completed", {"total_cents": totals.total_cents, "currency": cart.currency})
    try:
        db.session.commit()
    except IntegrityError:
        # The other path won the race on the unique cart_id: return its order.
        db.session.rollback()
        order = existing_order(cart_id)
        if order is None:
            raise
        return order, False
    return order, True


def mark_refunded(order_id: int, refund_id: str) -> None:
    """Record that the payment of an order was refunded. Idempotent. Commits."""
    order = db.session.get(Order, order_id)
    if order is not None and order.status != "REFUNDED":
        order.status = "REFUNDED"
        order.refund_id = refund_id
        db.session.commit()


def record_payment_failure(cart_id: int, message: str, code: str | None = None,
                           decline_code: str | None = None) -> None:
    """Keep the cart, remember why the payment failed (shown to the shopper), and put
    PAYMENT_FAILED on the lead's timeline with Stripe's codes. Commits."""
    cart = db.session.get(Cart, cart_id)
    if cart is not None and cart.status in USABLE_STATUSES:
        cart.payment_error = message[:500]
        db.session.commit()
        hooks.call(hooks.payment_failed, cart_id, code, decline_code, message)


def order_for_cart(cart_id: int) -> Order | None:
    """The order made from ``cart_id``, if any (for the admin's cart detail)."""
    return existing_order(cart_id)
