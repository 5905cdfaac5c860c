"""Promotion admin services, continued: generating single-use codes (for recovery emails),
their counts and CSV export, and the usage report from the orders that used a promotion.

Every read is scoped to the signed-in merchant (``accounts.scoping``). The usage report
reads ``checkout``'s orders: an upward import, kept to this read-only report.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.checkout.models import Order
from storefront.csv_export import csv_text
from storefront.dates import local_input, local_stamp, merchant_zone
from storefront.extensions import db
from storefront.pricing.codes import free_codes
from storefront.pricing.form_values import FormError, Reader
from storefront.pricing.models import Promotion, PromotionCode, PromotionUsage
from storefront.types import utcnow

PREFIX_RE = re.compile(r"[A-Z0-9]{0,20}")
# No 0/O or 1/I/L: generated codes are read from emails and typed on phones.
MAX_GENERATED = 500
PER_PAGE = 50


# ----------------------------------------------------------------------------- single-use codes


def new_codes_values(company: Company) -> dict:
    """The generator's empty form: 50 codes expiring in 7 days (merchant's time)."""
    return {"count": "50", "prefix": "", "expires_at": local_input(utcnow() + timedelta(days=7), merchant_zone(company.timezone))}


def generate_codes(promotion: Promotion, company: Company, form) -> list[PromotionCode]:
    """Create ``count`` (1..500) single-use codes for ``promotion``, each ``PREFIX-XXXXXXXX``
    (8 characters from CODE_ALPHABET, about 40 bits), unique among the merchant's promotion
    and generated codes, expiring at ``expires_at`` (merchant's time, in the future).
    Raises FormError. Commits; returns the new codes."""
    r = Reader(form, company)
    count = r.whole("count", "Number of codes", 1, MAX_GENERATED, required=True)
    prefix = r.text("prefix", "Prefix", 20).upper()
    r.values["prefix"] = r.values["prefix"].upper()
    if not PREFIX_RE.fullmatch(prefix):
        r.errors["prefix"] = "Use up to 20 letters and digits."
    expires_at = r.moment("expires_at", "Expires", required=True)
    if expires_at and expires_at <= utcnow():
        r.errors["expires_at"] = "The expiry must be in the future."
    r.done()
    made = free_codes(company.id, count, prefix)
    codes = [PromotionCode(company_id=company.id, promotion_id=promotion.id, code=code, expires_at=expires_at)
             for code in made]
    db.session.add_all(codes)
    try:
        db.session.commit()
    except IntegrityError as error:  # a code made at the same moment by another request
        db.session.rollback()
        raise FormError(r.values, {"count": "Some codes collided with new ones: please try again."}) from error
    return codes


@dataclass(frozen=True)
class CodeSummary:
    """The promotion's generated codes: counts and the ``latest`` (newest first)."""

    total: int
    used: int
    expired: int
    latest: list[PromotionCode]

    @property
    def unused(self) -> int:
        return self.total - self.used - self.expired


def code_summary(promotion: Promotion, limit: int = 200, now: datetime | None = None) -> CodeSummary:
    """Counts of the promotion's codes (one query) and its ``limit`` newest codes."""
    now = now or utcnow()
    used = PromotionCode.used_at.is_not(None)
    expired = and_(PromotionCode.used_at.is_(None), PromotionCode.expires_at.is_not(None), PromotionCode.expires_at <= now)
    total, n_used, n_expired = db.session.execute(
        scoped(PromotionCode, func.count(PromotionCode.id), func.coalesce(func.sum(case((used, 1), else_=0)), 0),
               func.coalesce(func.sum(case((expired, 1), else_=0)), 0))
        .where(PromotionCode.promotion_id == promotion.id)
    ).one()
    latest = db.session.execute(
        scoped(PromotionCode).where(PromotionCode.promotion_id == promotion.id).order_by(PromotionCode.id.desc()).limit(limit)
    ).scalars().all()
    return CodeSummary(total, int(n_used), int(n_expired), list(latest))


def codes_csv(promotion: Promotion, company: Company) -> str:
    """All the promotion's codes as CSV: code, expires (merchant's time), used (merchant's time)."""
    zone = merchant_zone(company.timezone)
    rows = db.session.execute(
        scoped(PromotionCode).where(PromotionCode.promotion_id == promotion.id).order_by(PromotionCode.id)
    ).scalars()
    return csv_text([("code", "expires", "used"),
                     *((c.code, local_stamp(c.expires_at, zone), local_stamp(c.used_at, zone)) for c in rows)])


# ----------------------------------------------------------------------------- usage report


@dataclass(frozen=True)
class UsageRow:
    number: str
    email: str | None
    discount_cents: int
    total_cents: int
    status: str
    created_at: datetime


@dataclass(frozen=True)
class UsageReport:
    """Uses of a promotion: ``times_used`` (its counter), ``orders`` (usages recorded), the
    ``discount_cents`` given, the ``revenue_cents`` of those orders (refunded ones left out),
    and one page of ``rows``, newest first."""

    times_used: int
    orders: int
    discount_cents: int
    revenue_cents: int
    rows: list[UsageRow]
    page: int
    pages: int


def usage_report(promotion: Promotion, page: int = 1) -> UsageReport:
    """The promotion's usage report from its PromotionUsage rows and their orders."""
    joined = lambda q: q.join(Order, Order.id == PromotionUsage.order_id).where(  # noqa: E731
        PromotionUsage.promotion_id == promotion.id, Order.company_id == PromotionUsage.company_id)
    counted = case((Order.status != "REFUNDED", Order.total_cents), else_=0)
    orders, discount, revenue = db.session.execute(joined(scoped(
        PromotionUsage, func.count(PromotionUsage.id), func.coalesce(func.sum(PromotionUsage.discount_cents), 0),
        func.coalesce(func.sum(counted), 0)))).one()
    pages = max(1, math.ceil(orders / PER_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.execute(joined(scoped(
        PromotionUsage, Order.number, Order.email, PromotionUsage.discount_cents, Order.total_cents, Order.status,
        Order.created_at)).order_by(Order.created_at.desc(), Order.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    return UsageReport(promotion.times_used, orders, int(discount), int(revenue),
                       [UsageRow(*row) for row in rows], page, pages)
