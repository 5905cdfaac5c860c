"""Catalogue admin: the product form. Editing a product and its variants, creating a
product with one default variant, and archiving one.

Every read goes through ``accounts.scoping`` (the signed-in merchant's rows only). Form
services take the submitted form as a mapping of input name -> text, validate all of it,
and either commit or raise ``ProductFormError`` with what was typed and an error per input,
so the form can be shown again without losing anything. After any write the landing-page
section cache is cleared, so public pages show the new prices and stock at once.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, false, func, or_
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.catalog.admin_list import STATUSES
from storefront.catalog.importers.common import paragraphs, sanitize_html, slugify
from storefront.catalog.models import Product, Variant
from storefront.extensions import db
from storefront.inputs import parse_ids
from storefront.money import MoneyError, minor_units, parse_amount
from storefront.types import utcnow

MAX_STOCK = 1_000_000
MAX_DESCRIPTION = 100_000  # characters of HTML
MAX_UPSELLS = 8  # complementary products per product (the drawer shows at most 3 at once)
MAX_UPSELL_OPTIONS = 500  # products listed in the picker; the chosen ones always are
UPSELL_SHOWN = "upsell_shown"  # hidden input: the picker was on the form (none ticked = none)


class ProductFormError(ValueError):
    """The form cannot be saved. ``values`` are the inputs as typed (by input name);
    ``errors`` maps an input name (or "form" for the whole form) to a message."""

    def __init__(self, values: dict, errors: dict[str, str]) -> None:
        self.values, self.errors = values, errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def amount_text(cents: int | None, currency: str) -> str:
    """Minor units as a plain decimal for an input, without symbol or grouping:
    1999, "USD" -> "19.99"; 750, "JPY" -> "750"; None -> ""."""
    if cents is None:
        return ""
    places = minor_units(currency)
    return f"{Decimal(cents).scaleb(-places):.{places}f}"


def variant_prefix(variant: Variant | None) -> str:
    """Input-name prefix of a variant's fields: "v12-", or "vnew-" for the new product's."""
    return f"v{variant.id}-" if variant is not None else "vnew-"


def product_values(product: Product, currency: str) -> dict:
    """The edit form's values for ``product`` as stored: text and booleans by input name."""
    values: dict = {"title": product.title, "description": product.description_html,
                    "status": product.status, "published": product.published}
    for variant in product.variants:
        values.update(_variant_values(variant_prefix(variant), variant, currency))
    chosen = [str(i) for i in product.upsell_product_ids or [] if isinstance(i, int) and not isinstance(i, bool)]
    values["upsell"] = chosen
    values["upsell_options"] = upsell_options(product, chosen)
    return values


def upsell_options(product: Product, chosen: list[str]) -> list[tuple[int, str, str]]:
    """The complementary-product picker's choices: (id, title, status) of the merchant's other
    products, the chosen ones first, then the rest that are not archived by title (at most
    MAX_UPSELL_OPTIONS). One query."""
    chosen_ids = parse_ids(chosen)
    picked = Product.id.in_(chosen_ids) if chosen_ids else false()
    rows = db.session.execute(
        scoped(Product, Product.id, Product.title, Product.status)
        .where(Product.id != product.id, or_(Product.status != "archived", picked))
        .order_by(case((picked, 0), else_=1), func.lower(Product.title), Product.id)
        .limit(MAX_UPSELL_OPTIONS)
    ).all()
    return [tuple(row) for row in rows]


def _upsells(product: Product, form: Mapping[str, str], values: dict, errors: dict[str, str]) -> list[int] | None:
    """The complementary products ticked on the form, as ids: the merchant's own products,
    not this one, at most MAX_UPSELLS, in the order listed. None when the form had no picker
    (the stored choice is kept). Records what was ticked in ``values``, problems in ``errors``."""
    if not form.get(UPSELL_SHOWN):
        values["upsell"] = [str(i) for i in product.upsell_product_ids or []]
        values["upsell_options"] = upsell_options(product, values["upsell"])
        return None
    raw = form.getlist("upsell") if hasattr(form, "getlist") else [form.get("upsell", "")]
    ticked = list(dict.fromkeys(r.strip() for r in raw if r and r.strip()))[:MAX_UPSELLS * 4]
    values["upsell"] = ticked
    values["upsell_options"] = upsell_options(product, ticked)
    if not all(re.fullmatch(r"\d{1,9}", t) for t in ticked):
        errors["upsell"] = "Choose products from the list."
        return None
    ids = [int(t) for t in ticked]
    if len(ids) > MAX_UPSELLS:
        errors["upsell"] = f"Choose at most {MAX_UPSELLS} complementary products: you chose {len(ids)}."
        return None
    if product.id in ids:
        errors["upsell"] = "A product can't be its own complementary product."
        return None
    own = set(db.session.scalars(scoped(Product, Product.id).where(Product.id.in_(ids)))) if ids else set()
    if own != set(ids):
        errors["upsell"] = "Some of the chosen products no longer exist. Choose from the list again."
        return None
    return ids


def new_product_values() -> dict:
    """The empty form of a new product: a draft, unpublished, one untracked variant."""
    return {"title": "", "description": "", "status": "draft", "published": False,
            "vnew-sku": "", "vnew-price": "", "vnew-compare_at": "", "vnew-track": False,
            "vnew-stock": "0", "vnew-in_stock": True}


def _variant_values(prefix: str, variant: Variant, currency: str) -> dict:
    return {
        prefix + "sku": variant.sku or "",
        prefix + "price": amount_text(variant.price_cents, currency),
        prefix + "compare_at": amount_text(variant.compare_at_cents, currency),
        prefix + "track": variant.track_inventory,
        prefix + "stock": str(variant.stock),
        prefix + "in_stock": variant.in_stock_flag,
    }


@dataclass
class _Parsed:
    """A valid form, in stored units."""

    product: dict = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)  # by prefix


def _typed(form: Mapping[str, str], prefixes: list[str]) -> dict:
    """The submitted values, as the form shows them again (checkboxes as booleans)."""
    values: dict = {
        "title": form.get("title", ""), "description": form.get("description", ""),
        "status": form.get("status", ""), "published": bool(form.get("published")),
    }
    for p in prefixes:
        for name in ("sku", "price", "compare_at", "stock"):
            values[p + name] = form.get(p + name, "")
        values[p + "track"] = bool(form.get(p + "track"))
        values[p + "in_stock"] = bool(form.get(p + "in_stock"))
    return values


def _validate(values: dict, prefixes: list[str], currency: str,
              own_variant_ids: list[int]) -> _Parsed:
    """Check every input; raise ProductFormError with all problems at once."""
    errors: dict[str, str] = {}
    parsed = _Parsed()
    title = values["title"].strip()
    if not title:
        errors["title"] = "Enter a title."
    elif len(title) > 255:
        errors["title"] = f"The title is {len(title)} characters; at most 255."
    description = values["description"]
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"The description is too long: at most {MAX_DESCRIPTION:,} characters."
    if values["status"] not in STATUSES:
        errors["status"] = "Choose active, draft or archived."
    parsed.product = {
        "title": title,
        # Sanitised on save, so every later rendering may trust it (no script, no on*=).
        "description_html": sanitize_html(paragraphs(description)) if "description" not in errors else "",
        "status": values["status"], "published": values["published"],
    }
    seen: dict[str, str] = {}
    for p in prefixes:
        parsed.variants[p] = _validate_variant(values, p, currency, errors, seen)
    taken = _taken_skus(list(seen), own_variant_ids)
    for sku, owner in taken.items():
        errors.setdefault(seen[sku] + "sku", f"SKU {sku!r} is already used by {owner!r}. SKUs must be unique.")
    if errors:
        raise ProductFormError(values, errors)
    return parsed


def _validate_variant(values: dict, p: str, currency: str, errors: dict[str, str],
                      seen: dict[str, str]) -> dict:
    sku = values[p + "sku"].strip()
    if len(sku) > 120:
        errors[p + "sku"] = f"The SKU is {len(sku)} characters; at most 120."
    elif sku in seen:
        errors[p + "sku"] = f"SKU {sku!r} is used twice on this product. SKUs must be unique."
    elif sku:
        seen[sku] = p
    price = _amount(values[p + "price"], currency, p + "price", errors, required=True)
    compare_at = _amount(values[p + "compare_at"], currency, p + "compare_at", errors)
    track = values[p + "track"]
    stock_text = values[p + "stock"].strip()
    stock = None
    if stock_text or track:
        if not re.fullmatch(r"\d{1,8}", stock_text) or int(stock_text) > MAX_STOCK:
            errors[p + "stock"] = f"Enter a whole number of units from 0 to {MAX_STOCK:,}."
        else:
            stock = int(stock_text)
    return {"sku": sku or None, "price_cents": price, "compare_at_cents": compare_at,
            "track_inventory": track, "stock": stock, "in_stock_flag": values[p + "in_stock"]}


def _amount(text: str, currency: str, name: str, errors: dict[str, str],
            required: bool = False) -> int | None:
    text = text.strip()
    if not text:
        if required:
            errors[name] = "Enter a price, e.g. 19.99."
        return None
    try:
        return parse_amount(text, currency)
    except MoneyError as exc:
        errors[name] = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        return None


def _taken_skus(skus: list[str], own_variant_ids: list[int]) -> dict[str, str]:
    """{sku: title of the product that has it} for ``skus`` used by other variants."""
    if not skus:
        return {}
    statement = (scoped(Variant, Variant.sku, Product.title)
                 .join(Product, Product.id == Variant.product_id)
                 .where(Variant.sku.in_(skus)))
    if own_variant_ids:
        statement = statement.where(Variant.id.not_in(own_variant_ids))
    return dict(db.session.execute(statement).all())


def update_product(product: Product, form: Mapping[str, str], currency: str) -> Product:
    """Save ``form`` onto ``product`` (already fetched through the scoping helper) and its
    variants, and commit. Prices are decimals in ``currency``; stock 0..MAX_STOCK.

    Raises ProductFormError (nothing saved) for any invalid input or a SKU that another
    of the merchant's variants uses.
    """
    variants = {variant_prefix(v): v for v in product.variants}
    values = _typed(form, list(variants))
    upsell_errors: dict[str, str] = {}
    upsells = _upsells(product, form, values, upsell_errors)
    try:
        parsed = _validate(values, list(variants), currency, [v.id for v in variants.values()])
    except ProductFormError as exc:
        exc.errors.update(upsell_errors)
        raise
    if upsell_errors:
        raise ProductFormError(values, upsell_errors)
    if upsells is not None:
        parsed.product["upsell_product_ids"] = upsells
    changed = _assign(product, parsed.product)
    moving = [v for p, v in variants.items() if v.sku != parsed.variants[p]["sku"]]
    if len(moving) > 1:
        # Variants may swap SKUs: clear them first, or the first UPDATE would hit the
        # (company, sku) unique constraint while the other variant still holds the SKU.
        for variant in moving:
            variant.sku = None
        db.session.flush()
    for prefix, variant in variants.items():
        wanted = parsed.variants[prefix]
        if wanted["stock"] is None:
            wanted["stock"] = variant.stock  # untracked and left empty: keep the count
        changed = _assign(variant, wanted) or changed
    if changed:
        product.updated_at = utcnow()  # a variant-only change must move the product too
    _commit(values)
    return product


def create_product(company: Company, form: Mapping[str, str]) -> Product:
    """Create a product with one default variant from ``form`` (inputs of
    ``new_product_values``) and commit. The handle is made from the title, unique among
    the merchant's products. Raises ProductFormError (nothing saved) for invalid input."""
    prefix = variant_prefix(None)
    values = _typed(form, [prefix])
    parsed = _validate(values, [prefix], company.currency, [])
    wanted = parsed.variants[prefix]
    product = Product(company_id=company.id, handle=_free_handle(parsed.product["title"]),
                      option_names=[], tags=[], **parsed.product)
    product.variants.append(Variant(
        company_id=company.id, title="Default Title", options={}, position=1,
        **{**wanted, "stock": wanted["stock"] or 0}))
    db.session.add(product)
    _commit(values)
    return product


def archive_product(product: Product) -> bool:
    """Archive ``product`` (hidden from shoppers, kept for orders) and commit. Returns False
    when it was already archived. Setting the status back to active restores it."""
    if product.status == "archived":
        return False
    product.status = "archived"
    product.updated_at = utcnow()
    _commit({})
    return True


def _assign(obj, wanted: dict) -> bool:
    changed = False
    for name, value in wanted.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _commit(values: dict) -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        # Another save took the SKU (or handle) between our check and this commit.
        db.session.rollback()
        raise ProductFormError(values, {
            "form": "Another change was saved at the same time and a SKU or handle is now "
                    "taken. Check the SKUs and save again."}) from exc


def _free_handle(title: str) -> str:
    base = slugify(title)[:190] or "product"
    used = set(db.session.scalars(scoped(Product, Product.handle).where(
        Product.handle.startswith(base, autoescape=True))))
    handle, n = base, 1
    while handle in used:
        n += 1
        handle = f"{base}-{n}"
    return handle
