"""Read-only order queries for the admin screens of lower domains: the order a cart became,
and the orders that used a promotion. Every read is scoped to the signed-in merchant
(``accounts.scoping``), so another merchant's cart or promotion finds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, func

from storefront.accounts.scoping import scoped
from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.pricing.models import PromotionUsage


def order_for_cart(cart_id: int) -> Order | None:
    """The merchant's order made from cart ``cart_id``, or None (not converted, or not theirs)."""
    return db.session.execute(scoped(Order).where(Order.cart_id == cart_id)).scalar_one_or_none()


@dataclass(frozen=True)
class UsageTotals:
    """What a promotion's recorded uses add up to: ``orders``, the ``discount_cents`` given
    and the ``revenue_cents`` of those orders (refunded ones left out), in minor units."""

    orders: int
    discount_cents: int
    revenue_cents: int


@dataclass(frozen=True)
class UsageRow:
    """One order that used the promotion; money in minor units of the order's currency."""

    number: str
    email: str | None
    discount_cents: int
    total_cents: int
    status: str
    created_at: datetime


def _usages(statement: Select, promotion_id: int) -> Select:
    return statement.join(Order, Order.id == PromotionUsage.order_id).where(
        PromotionUsage.promotion_id == promotion_id, Order.company_id == PromotionUsage.company_id)


def promotion_usage_totals(promotion_id: int) -> UsageTotals:
    """The totals of the promotion's PromotionUsage rows and their orders (one query)."""
    counted = case((Order.status != "REFUNDED", Order.total_cents), else_=0)
    orders, discount, revenue = db.session.execute(_usages(scoped(
        PromotionUsage, func.count(PromotionUsage.id), func.coalesce(func.sum(PromotionUsage.discount_cents), 0),
        func.coalesce(func.sum(counted), 0)), promotion_id)).one()
    return UsageTotals(orders, int(discount), int(revenue))


def promotion_usage_rows(promotion_id: int) -> Select:
    """The orders that used the promotion, newest first, as ``UsageRow`` columns (page them
    with ``admin.kit.paginate``, ``row=UsageRow``, the count from ``promotion_usage_totals``)."""
    return _usages(scoped(PromotionUsage, Order.number, Order.email, PromotionUsage.discount_cents, Order.total_cents,
                          Order.status, Order.created_at), promotion_id).order_by(Order.created_at.desc(), Order.id.desc())
