"""Promotion admin services: the list with statuses, the create/edit form and deactivation.
Single-use codes and the usage report are in ``pricing.admin_codes``; zones, methods and
tax rates in ``pricing.admin_shipping``.

Form services take the submitted form (a MultiDict of input name -> text), validate all of
it, and either commit or raise ``FormError`` with what was typed and an error per input, so
the form is shown again with nothing lost. Every read is scoped to the signed-in merchant
(``accounts.scoping``); products, categories and the gift variant a promotion targets are
looked up in the merchant's own catalogue, so another merchant's ids are refused.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import current_company_id, scoped
from storefront.catalog.models import Category, Product, Variant
from storefront.dates import local_input, merchant_zone
from storefront.extensions import db
from storefront.inputs import optional_int, parse_ids
from storefront.money import format_money
from storefront.pricing.codes import promotion_status, status_clause
from storefront.pricing.form_values import (
    FormError,
    Reader,
    amount_text,
    percent_text,
)
from storefront.pricing.models import (
    PROMOTION_SCOPES,
    PROMOTION_TYPES,
    Promotion,
    PromotionCode,
)
from storefront.types import utcnow

TYPE_LABELS = {"PERCENTAGE_OFF": "Percentage off", "FIXED_AMOUNT_OFF": "Fixed amount off",
               "BUY_X_GET_Y": "Buy X, get Y free", "FREE_SHIPPING": "Free shipping", "FREE_GIFT": "Free gift"}
SCOPE_LABELS = {"CART": "The whole cart", "PRODUCT": "Chosen products", "CATEGORY": "Chosen categories",
                "SHIPPING": "The shipping cost"}
# Which scopes each type can use: the engine applies BUY_X_GET_Y to product or category
# lines only (pricing.promotions, step 1), and the last two have a fixed target.
TYPE_SCOPES = {"PERCENTAGE_OFF": PROMOTION_SCOPES, "FIXED_AMOUNT_OFF": PROMOTION_SCOPES,
               "BUY_X_GET_Y": ("PRODUCT", "CATEGORY"), "FREE_SHIPPING": ("SHIPPING",), "FREE_GIFT": ("CART",)}
STATUSES = ("active", "scheduled", "expired", "inactive")
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


@dataclass(frozen=True)
class PromotionPage:
    """One page of the list: ``rows`` newest first; ``status`` is the filter ("" = all)."""

    rows: list[PromotionRow]
    status: str
    page: int
    pages: int
    total: int


def list_promotions(status: str = "", page: int = 1, now: datetime | None = None) -> PromotionPage:
    """The merchant's promotions, newest first, PER_PAGE a page, with their generated-code
    counts in the same query. An unknown ``status`` means all."""
    now = now or utcnow()
    status = status if status in STATUSES else ""
    codes = (db.select(PromotionCode.promotion_id, func.count(PromotionCode.id).label("n"))
             .where(PromotionCode.company_id == current_company_id())
             .group_by(PromotionCode.promotion_id).subquery())
    query = scoped(Promotion, Promotion, func.coalesce(codes.c.n, 0)).outerjoin(codes, codes.c.promotion_id == Promotion.id)
    counting = scoped(Promotion, func.count(Promotion.id))
    if status:
        query, counting = query.where(status_clause(status, now)), counting.where(status_clause(status, now))
    total = db.session.execute(counting).scalar_one()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        query.order_by(Promotion.created_at.desc(), Promotion.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    return PromotionPage([PromotionRow(p, promotion_status(p, now), n) for p, n in rows], status, page, pages, total)


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


def _ids(raw) -> list[int]:
    return parse_ids(raw)


def catalogue_choices(values: dict) -> dict:
    """What a promotion can target, from the merchant's catalogue: ``products`` and
    ``categories`` as [(id, label)], ``variants`` (for the gift) as [(id, label)]. Archived
    products are left out unless ``values`` (the form's) already chose them, so saving the
    form again keeps them."""
    chosen = _ids(values.get("product_ids") or [])
    gift = _ids([values.get("gift_variant_id") or ""])
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


def new_promotion_values() -> dict:
    """The empty form: a 10 % cart code, active, not combinable."""
    return {"name": "", "type": "PERCENTAGE_OFF", "scope": "CART", "code": "", "automatic": False,
            "percent": "10", "amount": "", "min_subtotal": "", "buy_quantity": "", "get_quantity": "",
            "gift_variant_id": "", "product_ids": [], "category_ids": [], "starts_at": "", "ends_at": "",
            "usage_limit": "", "per_customer_limit": "", "combinable": False, "active": True}


def promotion_values(promotion: Promotion, company: Company) -> dict:
    """The edit form's values for ``promotion`` as stored (money and dates as the merchant types them)."""
    zone = merchant_zone(company.timezone)
    currency = company.currency
    return {
        "name": promotion.name, "type": promotion.type, "scope": promotion.scope, "code": promotion.code or "",
        "automatic": promotion.automatic,
        "percent": percent_text(promotion.percent_bp) if promotion.type == "PERCENTAGE_OFF" else "",
        "amount": amount_text(promotion.amount_cents, currency) if promotion.type == "FIXED_AMOUNT_OFF" else "",
        "min_subtotal": amount_text(promotion.min_subtotal_cents, currency) if promotion.min_subtotal_cents else "",
        "buy_quantity": str(promotion.buy_quantity or ""), "get_quantity": str(promotion.get_quantity or ""),
        "gift_variant_id": str(promotion.gift_variant_id or ""),
        "product_ids": [str(i) for i in promotion.product_ids or ()],
        "category_ids": [str(i) for i in promotion.category_ids or ()],
        "starts_at": local_input(promotion.starts_at, zone), "ends_at": local_input(promotion.ends_at, zone),
        "usage_limit": str(promotion.usage_limit or ""), "per_customer_limit": str(promotion.per_customer_limit or ""),
        "combinable": promotion.combinable, "active": promotion.active,
    }


def _owned_ids(model, raw: list[str]) -> tuple[list[int], bool]:
    """(ids, all found): the given ids that are the merchant's rows of ``model``."""
    parsed = [optional_int(value, 1) for value in raw]
    if None in parsed:
        return [], False
    wanted = sorted(set(parsed))
    if not wanted:
        return [], True
    found = set(db.session.execute(scoped(model, model.id).where(model.id.in_(wanted))).scalars())
    return [i for i in wanted if i in found], found == set(wanted)


def _code_taken(code: str, promotion_id: int | None) -> bool:
    """True when another promotion or a generated code of this merchant already uses ``code``
    (the shopper's code must name exactly one promotion)."""
    other = scoped(Promotion, Promotion.id).where(Promotion.code == code)
    if promotion_id is not None:
        other = other.where(Promotion.id != promotion_id)
    generated = scoped(PromotionCode, PromotionCode.id).where(PromotionCode.code == code)
    return (db.session.execute(other.limit(1)).first() is not None
            or db.session.execute(generated.limit(1)).first() is not None)


def _read_promotion(form, company: Company, promotion_id: int | None) -> dict:
    """Validate the whole form; returns the Promotion fields or raises FormError."""
    r = Reader(form, company)
    name = r.text("name", "Name", 200, required=True)
    kind = r.choice("type", "Type", PROMOTION_TYPES)
    scope = r.choice("scope", "Applies to", PROMOTION_SCOPES)
    if kind in TYPE_SCOPES and len(TYPE_SCOPES[kind]) == 1:
        scope = r.values["scope"] = TYPE_SCOPES[kind][0]
    elif kind and scope and scope not in TYPE_SCOPES[kind]:
        r.errors["scope"] = f"{TYPE_LABELS[kind]} applies to chosen products or categories."
    code = r.text("code", "Code", 64).upper()
    r.values["code"] = r.values["code"].upper()
    if code and not CODE_RE.fullmatch(code):
        r.errors["code"] = "Use 3 to 64 letters, digits, dashes or underscores."
    elif code and _code_taken(code, promotion_id):
        r.errors["code"] = f"{code} is already used by another promotion or generated code."
    fields = {
        "name": name, "type": kind, "scope": scope, "code": code or None, "automatic": r.flag("automatic"),
        "percent_bp": r.percent("percent", "Percentage", required=True) if kind == "PERCENTAGE_OFF" else 0,
        "amount_cents": r.money("amount", "Amount", required=True, positive=True) if kind == "FIXED_AMOUNT_OFF" else 0,
        "min_subtotal_cents": r.money("min_subtotal", "Minimum subtotal") or 0,
        "buy_quantity": 0, "get_quantity": 0, "gift_variant_id": None, "product_ids": [], "category_ids": [],
        "usage_limit": r.whole("usage_limit", "Usage limit", 1, MAX_USAGE_LIMIT),
        "per_customer_limit": r.whole("per_customer_limit", "Uses per customer", 1, MAX_PER_CUSTOMER),
        "combinable": r.flag("combinable"), "active": r.flag("active"),
    }
    if kind == "BUY_X_GET_Y":
        fields["buy_quantity"] = r.whole("buy_quantity", "Buy", 1, MAX_GROUP_QUANTITY, required=True) or 0
        fields["get_quantity"] = r.whole("get_quantity", "Get free", 1, MAX_GROUP_QUANTITY, required=True) or 0
    if kind == "FREE_GIFT":
        raw = r.text("gift_variant_id", "Gift", 20)
        ids, ok = _owned_ids(Variant, [raw] if raw else [])
        if not ids or not ok:
            r.errors["gift_variant_id"] = "Choose the gift from your products."
        fields["gift_variant_id"] = ids[0] if ids else None
    for key, model, what, wanted in (("product_ids", Product, "product", "PRODUCT"),
                                     ("category_ids", Category, "category", "CATEGORY")):
        raw = [value.strip()[:20] for value in form.getlist(key) if value.strip()][:5000]
        r.values[key] = raw
        if scope != wanted:
            continue
        ids, ok = _owned_ids(model, raw)
        if not ok:
            r.errors[key] = f"Choose each {what} from your catalogue."
        elif not ids:
            r.errors[key] = f"Choose at least one {what}."
        fields[key] = ids
    fields["starts_at"] = r.moment("starts_at", "Starts")
    fields["ends_at"] = r.moment("ends_at", "Ends")
    if fields["starts_at"] and fields["ends_at"] and fields["ends_at"] <= fields["starts_at"]:
        r.errors["ends_at"] = "The end must be after the start."
    # Inputs of the other types were not read: keep them as typed too.
    r.values = {**form_values(form), **r.values}
    r.done()
    return fields


def _save(promotion: Promotion, values: dict) -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        # Two saves of the same code at once: the unique (company, code) decides.
        db.session.rollback()
        raise FormError(values, {"code": f"{promotion.code} is already used by another promotion."}) from error


def create_promotion(company: Company, form) -> Promotion:
    """Create a promotion from the form. Raises FormError (nothing saved). Commits."""
    fields = _read_promotion(form, company, None)
    promotion = Promotion(company_id=company.id, **fields)
    db.session.add(promotion)
    _save(promotion, form_values(form))
    return promotion


def update_promotion(promotion: Promotion, company: Company, form) -> Promotion:
    """Save the form over ``promotion`` (uses so far are kept). Raises FormError. Commits."""
    fields = _read_promotion(form, company, promotion.id)
    for key, value in fields.items():
        setattr(promotion, key, value)
    _save(promotion, form_values(form))
    return promotion


def form_values(form) -> dict:
    """The typed form as values (for re-rendering after a late error)."""
    values = {key: form.get(key, "")[:1000] for key in new_promotion_values()}
    for key in ("automatic", "combinable", "active"):
        values[key] = bool(form.get(key))
    for key in ("product_ids", "category_ids"):
        values[key] = form.getlist(key)
    return values


def deactivate_promotion(promotion: Promotion) -> bool:
    """Switch the promotion off: shoppers can no longer use it or its codes; carts holding
    its code show "isn't valid". Returns False when it was already off. Commits."""
    if not promotion.active:
        return False
    promotion.active = False
    db.session.commit()
    return True
