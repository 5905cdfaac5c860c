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

from storefront.accounts.models import Company
from storefront.dates import local_text
from storefront.extensions import db
from storefront.pricing.context import PricedCart
from storefront.pricing.promotions import PromotionRule
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


def _applied(priced: PricedCart) -> list[PromotionRule]:
    return [rule for rule, amount in priced.totals.discounts.applied
            if amount > 0 or rule.type in ("FREE_SHIPPING", "FREE_GIFT")]


def cart_urgency(priced: PricedCart, company_id: int, now: datetime | None = None) -> Urgency | None:
    """The earliest real deadline of the discounts ``priced`` gives the cart of merchant
    ``company_id``, or None. The deadlines travel with the priced cart
    (``PromotionRule.ends_at``, ``PricingData.code_expires_at``); the merchant's row (its
    timezone and locale, for the text) is read only when there is a deadline to show."""
    now = now or utcnow()
    best: tuple[datetime, str] | None = None
    code_ok = priced.code and not priced.code_error
    for rule in _applied(priced):
        # An automatic promotion keeps applying when the code runs out: only its own end counts.
        found = [(rule.ends_at, SALE if rule.automatic else CODE)]
        if not rule.automatic and code_ok:
            found.append((priced.data.code_expires_at, CODE))
        for moment, label in found:
            if moment is not None and moment > now and (best is None or moment < best[0]):
                best = (moment, label)
    if best is None:
        return None
    company = db.session.get(Company, company_id)
    return Urgency(deadline=best[0], label=best[1], text=local_text(best[0], company.timezone, company.locale))
