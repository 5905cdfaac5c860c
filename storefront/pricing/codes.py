"""Promotions over time and their codes: the one liveness rule and the one code generator.

A promotion is, at ``now``: "inactive" (switched off), "scheduled" (``starts_at`` ahead),
"expired" (``ends_at`` reached, or ``times_used`` at ``usage_limit``) or "active"; only an
active one gives a discount. ``promotion_status`` says it of a row, ``status_clause`` is its
SQL twin for lists and for loading the automatic promotions.

Generated codes are ``PREFIX-XXXXXXXX``: 8 characters from an alphabet without the look-
alikes 0/O, 1/I/L (about 40 random bits), unique among the merchant's promotion codes and
generated codes.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import and_, func, or_

from storefront.extensions import db
from storefront.money import format_money
from storefront.pricing.models import Promotion, PromotionCode, PromotionUsage
from storefront.types import utcnow

STATUSES = ("active", "scheduled", "expired", "inactive")
MAX_CODE_LENGTH = 64
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_RANDOM_LENGTH = 8
DRAW_ATTEMPTS = 5


def promotion_status(promotion: Promotion, now: datetime) -> str:
    """"inactive", "scheduled", "expired" or "active" (see the module docstring)."""
    if not promotion.active:
        return "inactive"
    if promotion.starts_at and promotion.starts_at > now:
        return "scheduled"
    used_up = promotion.usage_limit is not None and promotion.times_used >= promotion.usage_limit
    if (promotion.ends_at and promotion.ends_at <= now) or used_up:
        return "expired"
    return "active"


def is_live(promotion: Promotion | None, now: datetime) -> bool:
    """True when ``promotion`` gives its discount at ``now``."""
    return promotion is not None and promotion_status(promotion, now) == "active"


def status_clause(status: str, now: datetime):
    """The SQL condition on ``Promotion`` for ``promotion_status(...) == status``."""
    started = or_(Promotion.starts_at.is_(None), Promotion.starts_at <= now)
    ended = or_(and_(Promotion.ends_at.is_not(None), Promotion.ends_at <= now),
                and_(Promotion.usage_limit.is_not(None), Promotion.times_used >= Promotion.usage_limit))
    return {
        "inactive": Promotion.active.is_(False),
        "scheduled": and_(Promotion.active.is_(True), Promotion.starts_at > now),
        "expired": and_(Promotion.active.is_(True), started, ended),
        "active": and_(Promotion.active.is_(True), started, ~ended),
    }[status]


def random_code(prefix: str = "") -> str:
    """One code: ``PREFIX-XXXXXXXX``, or the 8 characters alone without a prefix."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM_LENGTH))
    return f"{prefix}-{body}" if prefix else body


def free_codes(company_id: int, count: int, prefix: str = "") -> list[str]:
    """``count`` new codes not yet used by the merchant (as a promotion's code or a generated
    one), sorted. A code drawn at the same moment by another request can still collide: the
    unique constraint on (company, code) refuses the second insert, and the caller retries.
    Raises RuntimeError when the space is so full that DRAW_ATTEMPTS rounds fall short."""
    made: set[str] = set()
    for _attempt in range(DRAW_ATTEMPTS):
        while len(made) < count:
            made.add(random_code(prefix))
        taken = set(db.session.execute(db.select(PromotionCode.code).where(
            PromotionCode.company_id == company_id, PromotionCode.code.in_(made))).scalars())
        taken |= set(db.session.execute(db.select(Promotion.code).where(
            Promotion.company_id == company_id, Promotion.code.in_(made))).scalars())
        made -= taken
        if len(made) == count:
            return sorted(made)
    raise RuntimeError(f"could not draw {count} free codes in {DRAW_ATTEMPTS} rounds")


# ----------------------------------------------------------------------------- a shopper's code


class PromotionCodeError(ValueError):
    """Why a code cannot be used; ``str(error)`` is the shopper-facing message."""


def find_code(company_id: int, raw: str, now: datetime | None = None) -> tuple[Promotion, PromotionCode | None]:
    """The promotion a shopper's code names, matched case-insensitively.

    Raises PromotionCodeError with its own message for an unknown, not yet started, expired
    or exhausted code.
    """
    now = now or utcnow()
    code = (raw or "").strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH:
        raise PromotionCodeError("That discount code isn't valid.")
    single = db.session.execute(
        db.select(PromotionCode).filter_by(company_id=company_id, code=code)
    ).scalar_one_or_none()
    promotion = single.promotion if single else db.session.execute(
        db.select(Promotion).filter_by(company_id=company_id, code=code)
    ).scalar_one_or_none()
    status = promotion_status(promotion, now) if promotion is not None else "inactive"
    if status == "inactive":
        raise PromotionCodeError("That discount code isn't valid.")
    if status == "scheduled":
        raise PromotionCodeError("That discount code isn't active yet.")
    if (promotion.ends_at and promotion.ends_at <= now) or (single and single.expires_at and single.expires_at <= now):
        raise PromotionCodeError("That discount code has expired.")
    if status == "expired" or (single and single.used_at):
        raise PromotionCodeError("That discount code has already been used up.")
    return promotion, single


def check_for_cart(promotion: Promotion, email: str | None, subtotal_cents: int, currency: str) -> None:
    """Raise PromotionCodeError when ``promotion`` cannot apply to a cart of ``email`` with
    this subtotal (cents): the customer's own limit, the promotion's minimum."""
    if promotion.per_customer_limit is not None and customer_uses(promotion.id, email) >= promotion.per_customer_limit:
        raise PromotionCodeError("You've already used this discount code.")
    if subtotal_cents < promotion.min_subtotal_cents:
        short = format_money(promotion.min_subtotal_cents - subtotal_cents, currency)
        raise PromotionCodeError(f"Add {short} more to use this code.")


def customer_uses(promotion_id: int, email: str | None) -> int:
    """How many orders of ``email`` used the promotion."""
    if not email:
        return 0
    return db.session.execute(
        db.select(func.count(PromotionUsage.id)).filter_by(promotion_id=promotion_id, email=email)
    ).scalar_one()
