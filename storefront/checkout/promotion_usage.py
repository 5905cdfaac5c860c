"""Recording promotion usage when an order is created, under row locks.

Each promotion row is locked (``FOR UPDATE``, in id order) and its limits checked again
before ``times_used`` grows, so a code with one use left is used once even when two
checkouts complete at the same moment. The loser's order is kept (its payment was taken)
and flagged NEEDS_REVIEW, without a usage.
"""
from __future__ import annotations

from sqlalchemy import func

from storefront.checkout.models import Order
from storefront.extensions import db
from storefront.pricing.models import Promotion, PromotionCode, PromotionUsage
from storefront.pricing.promotions import PromotionRule
from storefront.types import utcnow


def record_promotion_usage(order: Order, code: str | None, applied: list[tuple[PromotionRule, int]]) -> bool:
    """Record one PromotionUsage per applied promotion of ``order``; mark a single-use code used.

    Returns False when a limit was reached meanwhile (nothing is recorded for that
    promotion). Does not commit: runs inside the order's transaction.
    """
    ok = True
    for rule, amount in sorted(applied, key=lambda item: item[0].id):
        promotion = db.session.execute(
            db.select(Promotion).filter_by(id=rule.id).with_for_update()
        ).scalar_one_or_none()
        if promotion is None:
            continue
        single = None
        if code and code != promotion.code:
            single = db.session.execute(
                db.select(PromotionCode).filter_by(company_id=order.company_id, code=code, promotion_id=promotion.id)
                .with_for_update()
            ).scalar_one_or_none()
        if promotion.usage_limit is not None and promotion.times_used >= promotion.usage_limit:
            ok = False
            continue
        if single is not None and single.used_at is not None:
            ok = False
            continue
        if promotion.per_customer_limit is not None and order.email:
            used = db.session.execute(
                db.select(func.count(PromotionUsage.id)).filter_by(promotion_id=promotion.id, email=order.email)
            ).scalar_one()
            if used >= promotion.per_customer_limit:
                ok = False
                continue
        promotion.times_used += 1
        if single is not None:
            single.used_at = utcnow()
        db.session.add(PromotionUsage(company_id=order.company_id, promotion_id=promotion.id,
                                      promotion_code_id=single.id if single else None, order_id=order.id,
                                      email=order.email, discount_cents=amount))
    return ok
