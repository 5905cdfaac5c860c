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

from sqlalchemy import and_, or_

from storefront.extensions import db
from storefront.pricing.models import Promotion, PromotionCode

STATUSES = ("active", "scheduled", "expired", "inactive")
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
