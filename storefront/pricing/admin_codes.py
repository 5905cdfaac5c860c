"""Promotion admin services, continued: generating single-use codes (for recovery emails),
their counts and CSV export. The usage report reads the orders through ``checkout.queries``.

Every read is scoped to the signed-in merchant (``accounts.scoping``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, func
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.csv_export import csv_text
from storefront.dates import local_stamp, merchant_zone
from storefront.extensions import db
from storefront.pricing.codes import free_codes
from storefront.pricing.models import Promotion, PromotionCode
from storefront.types import utcnow

MAX_GENERATED = 500


# ----------------------------------------------------------------------------- single-use codes


class CodesCollided(ValueError):
    """A generated code was made at the same moment by another request; nothing was saved.
    ``str(error)`` is the message for the merchant."""


def generate_codes(promotion: Promotion, count: int, prefix: str, expires_at: datetime) -> list[PromotionCode]:
    """Create ``count`` (1..MAX_GENERATED, validated by ``CodesForm``) single-use codes for
    ``promotion``, each ``PREFIX-XXXXXXXX`` (``pricing.codes.free_codes``: unique among the
    merchant's promotion and generated codes), expiring at ``expires_at`` (aware UTC).
    Raises CodesCollided. Commits; returns the new codes."""
    company_id = promotion.company_id
    codes = [PromotionCode(company_id=company_id, promotion_id=promotion.id, code=code, expires_at=expires_at)
             for code in free_codes(company_id, count, prefix)]
    db.session.add_all(codes)
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise CodesCollided("Some codes collided with new ones: please try again.") from error
    return codes


@dataclass(frozen=True)
class CodeSummary:
    """The counts of the promotion's generated codes."""

    total: int
    used: int
    expired: int

    @property
    def unused(self) -> int:
        return self.total - self.used - self.expired


def code_summary(promotion: Promotion, now: datetime | None = None) -> CodeSummary:
    """Counts of the promotion's codes: all, used, and expired unused at ``now``. One query."""
    now = now or utcnow()
    used = PromotionCode.used_at.is_not(None)
    expired = and_(PromotionCode.used_at.is_(None), PromotionCode.expires_at.is_not(None), PromotionCode.expires_at <= now)
    total, n_used, n_expired = db.session.execute(
        scoped(PromotionCode, func.count(PromotionCode.id), func.coalesce(func.sum(case((used, 1), else_=0)), 0),
               func.coalesce(func.sum(case((expired, 1), else_=0)), 0))
        .where(PromotionCode.promotion_id == promotion.id)
    ).one()
    return CodeSummary(total, int(n_used), int(n_expired))


def code_rows(promotion: Promotion) -> Select:
    """The promotion's codes, newest first (the count is ``code_summary().total``). Page them
    with ``admin.kit.paginate``."""
    return scoped(PromotionCode).where(PromotionCode.promotion_id == promotion.id).order_by(PromotionCode.id.desc())


def codes_csv(promotion: Promotion, company: Company) -> str:
    """All the promotion's codes as CSV: code, expires (merchant's time), used (merchant's time)."""
    zone = merchant_zone(company.timezone)
    rows = db.session.execute(
        scoped(PromotionCode).where(PromotionCode.promotion_id == promotion.id).order_by(PromotionCode.id)
    ).scalars()
    return csv_text([("code", "expires", "used"),
                     *((c.code, local_stamp(c.expires_at, zone), local_stamp(c.used_at, zone)) for c in rows)])
