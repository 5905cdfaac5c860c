"""Discount codes of recovery messages: one unique single-use code per message, made with
pricing's one code generator (``pricing.codes.free_codes``) under a per-merchant recovery
promotion of that percent, so checkout's one liveness rule (``pricing.codes.find_code``)
applies them, refuses them once used or expired, and marks them used with the order."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.pricing.codes import free_codes
from storefront.pricing.models import Promotion, PromotionCode

CODE_PREFIX = "SAVE"
DRAWS = 3


def recovery_promotion(company_id: int, percent: int) -> Promotion:
    """The merchant's "Cart recovery N % off" promotion (percentage off the cart, by code
    only, one use per code), made on first use. Does not commit."""
    name = f"Cart recovery {percent} % off"
    promotion = db.session.execute(select(Promotion).where(
        Promotion.company_id == company_id, Promotion.name == name, Promotion.type == "PERCENTAGE_OFF",
        Promotion.percent_bp == percent * 100).order_by(Promotion.id).limit(1)).scalar_one_or_none()
    if promotion is None:
        promotion = Promotion(company_id=company_id, name=name, type="PERCENTAGE_OFF", scope="CART",
                              percent_bp=percent * 100, automatic=False, active=True)
        db.session.add(promotion)
        db.session.flush()
    return promotion


def issue_code(company_id: int, percent: int, expires_at: datetime | None) -> PromotionCode:
    """A new single-use code for ``percent`` % off (1–50), expiring at ``expires_at`` (None:
    when the promotion ends). Commits (the code must exist before the message naming it is
    sent). Raises ValueError for a percent out of range, RuntimeError when no free code
    could be drawn."""
    if not 1 <= percent <= 50:
        raise ValueError("a recovery offer is 1 to 50 %")
    for _ in range(DRAWS):
        promotion = recovery_promotion(company_id, percent)
        code = PromotionCode(company_id=company_id, promotion_id=promotion.id,
                             code=free_codes(company_id, 1, CODE_PREFIX)[0], expires_at=expires_at)
        db.session.add(code)
        try:
            db.session.commit()
            return code
        except IntegrityError:  # the same code drawn at the same moment elsewhere
            db.session.rollback()
    raise RuntimeError("could not issue a recovery code")


def set_expiry(company_id: int, code: str, expires_at: datetime | None) -> None:
    """Move a code's expiry (the final offer's code lives 24 h from its sending). Does not
    commit."""
    row = db.session.execute(select(PromotionCode).filter_by(company_id=company_id, code=code)).scalar_one_or_none()
    if row is not None:
        row.expires_at = expires_at


def expiry_after(now: datetime, hours: int) -> datetime | None:
    """``now`` + ``hours``, or None for 0 (no expiry of its own)."""
    return now + timedelta(hours=hours) if hours else None
