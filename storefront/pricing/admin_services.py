"""Promotion admin services: the list with statuses, creating and editing a promotion from
its validated form, and deactivation. Single-use codes are in ``pricing.admin_codes``;
zones, methods and tax rates in ``pricing.admin_shipping``; the forms in ``pricing.forms``.

Every read is scoped to the signed-in merchant (``accounts.scoping``); the products,
categories and gift variant a promotion may target come from the merchant's own catalogue
(``catalogue_choices``), so another merchant's ids are refused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import current_company_id, scoped
from storefront.catalog.models import Category, Product, Variant
from storefront.extensions import db
from storefront.money import format_money, percent_text
from storefront.pricing.codes import STATUSES, promotion_status, status_clause
from storefront.pricing.models import PROMOTION_SCOPES, Promotion, PromotionCode

TYPE_LABELS = {"PERCENTAGE_OFF": "Percentage off", "FIXED_AMOUNT_OFF": "Fixed amount off",
               "BUY_X_GET_Y": "Buy X, get Y free", "FREE_SHIPPING": "Free shipping", "FREE_GIFT": "Free gift"}
SCOPE_LABELS = {"CART": "The whole cart", "PRODUCT": "Chosen products", "CATEGORY": "Chosen categories",
                "SHIPPING": "The shipping cost"}
# Which scopes each type can use: the engine applies BUY_X_GET_Y to product or category
# lines only (pricing.promotions, step 1), and the last two have a fixed target.
TYPE_SCOPES = {"PERCENTAGE_OFF": PROMOTION_SCOPES, "FIXED_AMOUNT_OFF": PROMOTION_SCOPES,
               "BUY_X_GET_Y": ("PRODUCT", "CATEGORY"), "FREE_SHIPPING": ("SHIPPING",), "FREE_GIFT": ("CART",)}
CODE_RE = re.compile(r"[A-Z0-9_-]{3,64}")
PER_PAGE = 50
MAX_USAGE_LIMIT = 1_000_000
MAX_PER_CUSTOMER = 1000
MAX_GROUP_QUANTITY = 99


# ----------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class PromotionRow:
    promotion: Promotion
    status: str
    code_count: int  # generated single-use codes


def promotion_statements(status: str, now: datetime) -> tuple[Select, Select]:
    """(rows, count) of the merchant's promotions with ``status`` ("" or unknown: all),
    newest first; each row is (Promotion, its generated-code count), counted in the same
    query. Page them with ``admin.kit.paginate``; ``promotion_row`` makes the rows."""
    codes = (db.select(PromotionCode.promotion_id, func.count(PromotionCode.id).label("n"))
             .where(PromotionCode.company_id == current_company_id())
             .group_by(PromotionCode.promotion_id).subquery())
    rows = scoped(Promotion, Promotion, func.coalesce(codes.c.n, 0)).outerjoin(codes, codes.c.promotion_id == Promotion.id)
    count = scoped(Promotion, func.count(Promotion.id))
    if status in STATUSES:
        rows, count = rows.where(status_clause(status, now)), count.where(status_clause(status, now))
    return rows.order_by(Promotion.created_at.desc(), Promotion.id.desc()), count


def promotion_row(promotion: Promotion, code_count: int, now: datetime) -> PromotionRow:
    """A list row: the promotion, its status at ``now`` and its generated-code count."""
    return PromotionRow(promotion, promotion_status(promotion, now), code_count)


def describe(promotion: Promotion, company: Company) -> str:
    """One line for people, e.g. "15% off the whole cart" or "Buy 2, get 1 free (chosen products)"."""
    target = {"CART": "the whole cart", "PRODUCT": "chosen products", "CATEGORY": "chosen categories",
              "SHIPPING": "shipping"}[promotion.scope]
    if promotion.type == "PERCENTAGE_OFF":
        text = f"{percent_text(promotion.percent_bp)}% off {target}"
    elif promotion.type == "FIXED_AMOUNT_OFF":
        each = " (each unit)" if promotion.scope in ("PRODUCT", "CATEGORY") else ""
        text = f"{format_money(promotion.amount_cents, company.currency, company.locale)} off {target}{each}"
    elif promotion.type == "BUY_X_GET_Y":
        text = f"Buy {promotion.buy_quantity}, get {promotion.get_quantity} free ({target})"
    elif promotion.type == "FREE_SHIPPING":
        text = "Free shipping"
    else:
        text = "A free gift"
    if promotion.min_subtotal_cents:
        text += f", on orders from {format_money(promotion.min_subtotal_cents, company.currency, company.locale)}"
    return text


# ----------------------------------------------------------------------------- the form


def catalogue_choices(product_ids: list[int], gift_variant_id: int | None) -> dict:
    """What a promotion can target, from the merchant's catalogue: ``products`` and
    ``categories`` as [(id, label)], ``variants`` (for the gift) as [(id, label)]. Archived
    products are left out unless already chosen (``product_ids``, ``gift_variant_id``), so
    saving the form again keeps them. Three queries."""
    chosen, gift = list(product_ids or ()), [gift_variant_id] if gift_variant_id else []
    products = db.session.execute(
        scoped(Product, Product.id, Product.title).where(or_(Product.status != "archived", Product.id.in_(chosen)))
        .order_by(Product.title, Product.id)
    ).all()
    categories = db.session.execute(scoped(Category, Category.id, Category.name).order_by(Category.name, Category.id)).all()
    variants = db.session.execute(
        scoped(Variant, Variant.id, Product.title, Variant.title, Variant.sku).join(Product, Product.id == Variant.product_id)
        .where(or_(Product.status != "archived", Variant.id.in_(gift))).order_by(Product.title, Variant.position, Variant.id)
    ).all()
    return {
        "products": [(pid, title) for pid, title in products],
        "categories": [(cid, name) for cid, name in categories],
        "variants": [(vid, title + ("" if vtitle == "Default Title" else f" — {vtitle}") + (f" ({sku})" if sku else ""))
                     for vid, title, vtitle, sku in variants],
    }


def code_taken(code: str, promotion_id: int | None) -> bool:
    """True when another promotion or a generated code of this merchant already uses ``code``
    (the shopper's code must name exactly one promotion)."""
    other = scoped(Promotion, Promotion.id).where(Promotion.code == code)
    if promotion_id is not None:
        other = other.where(Promotion.id != promotion_id)
    generated = scoped(PromotionCode, PromotionCode.id).where(PromotionCode.code == code)
    return (db.session.execute(other.limit(1)).first() is not None
            or db.session.execute(generated.limit(1)).first() is not None)


class CodeTaken(ValueError):
    """Another promotion took the code at the same moment (the unique (company, code) index
    decided); nothing was saved. ``str(error)`` is the message for the code input."""


def _save(promotion: Promotion) -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise CodeTaken(f"{promotion.code} is already used by another promotion.") from error


def create_promotion(company: Company, fields: dict) -> Promotion:
    """Create a promotion from ``PromotionForm.fields()``. Raises CodeTaken. Commits."""
    promotion = Promotion(company_id=company.id, **fields)
    db.session.add(promotion)
    _save(promotion)
    return promotion


def update_promotion(promotion: Promotion, fields: dict) -> Promotion:
    """Save ``PromotionForm.fields()`` over ``promotion`` (uses so far are kept). Raises
    CodeTaken. Commits."""
    for key, value in fields.items():
        setattr(promotion, key, value)
    _save(promotion)
    return promotion


def deactivate_promotion(promotion: Promotion) -> bool:
    """Switch the promotion off: shoppers can no longer use it or its codes; carts holding
    its code show "isn't valid". Returns False when it was already off. Commits."""
    if not promotion.active:
        return False
    promotion.active = False
    db.session.commit()
    return True
