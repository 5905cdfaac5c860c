"""The drawer's urgency timer: shown only for a real deadline of a discount this cart gets.

A deadline is real when it is the ``ends_at`` of a promotion that applies to the cart now
(an automatic one, or the one of the cart's code), or the ``expires_at`` of the cart's
single-use code. "Applies" means the priced cart used it: a line or cart discount of more
than zero, or a free-shipping or free-gift promotion. The earliest such deadline still ahead
is shown; none is ever made up, restarted or extended.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_

from storefront.accounts.models import Company
from storefront.cart.models import Cart
from storefront.dates import local_text
from storefront.extensions import db
from storefront.pricing.context import PricedCart
from storefront.pricing.models import Promotion, PromotionCode
from storefront.types import utcnow

SALE = "Sale ends"
CODE = "Your code expires"


@dataclass(frozen=True)
class Urgency:
    """A deadline to count down to. ``deadline`` is aware UTC; ``text`` is it in the
    merchant's timezone and locale (what shoppers without JavaScript read); ``label`` is
    "Sale ends" or "Your code expires" (the ticker says "<label> in 02:13:45")."""

    deadline: datetime
    label: str
    text: str

    @property
    def iso(self) -> str:
        return self.deadline.isoformat()


def _applied_ids(priced: PricedCart) -> set[int]:
    return {
        rule.id for rule, amount in priced.totals.discounts.applied
        if amount > 0 or rule.type in ("FREE_SHIPPING", "FREE_GIFT")
    }


def cart_urgency(cart: Cart | None, priced: PricedCart, now: datetime | None = None) -> Urgency | None:
    """The earliest real deadline of the discounts ``priced`` gives ``cart``, or None.

    No query when no promotion applies; otherwise one (the promotions' end dates, the cart
    code's expiry and the merchant's timezone together).
    """
    if cart is None:
        return None
    ids = _applied_ids(priced)
    if not ids:
        return None
    now = now or utcnow()
    code = (cart.promotion_code or "") if not priced.code_error else ""
    rows = db.session.execute(
        db.select(Promotion.automatic, Promotion.ends_at, PromotionCode.expires_at, Company.timezone, Company.locale)
        .join(Company, Company.id == Promotion.company_id)
        .outerjoin(PromotionCode, and_(PromotionCode.promotion_id == Promotion.id,
                                       PromotionCode.company_id == Promotion.company_id,
                                       PromotionCode.code == code))
        .where(Promotion.id.in_(ids), Promotion.company_id == cart.company_id)
    ).all()
    best: tuple[datetime, str] | None = None
    for automatic, ends_at, code_expires_at, _timezone, _locale in rows:
        # An automatic promotion keeps applying when the code runs out: only its own end counts.
        found = [(ends_at, SALE if automatic else CODE)]
        if not automatic:
            found.append((code_expires_at, CODE))
        for moment, label in found:
            if moment is not None and moment > now and (best is None or moment < best[0]):
                best = (moment, label)
    if best is None:
        return None
    _, _, _, timezone, locale = rows[0]  # one merchant: the same on every row
    return Urgency(deadline=best[0], label=best[1], text=local_text(best[0], timezone, locale))
