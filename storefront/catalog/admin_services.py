"""Catalogue admin services: the product list (search, filters, sort, pages), editing a
product and its variants, creating and archiving products, and the CSV import preview.

Every read goes through ``accounts.scoping`` (the signed-in merchant's rows only). Form
services take the submitted form as a mapping of input name -> text, validate all of it,
and either commit or raise ``ProductFormError`` with what was typed and an error per input,
so the form can be shown again without losing anything. After any write the landing-page
section cache is cleared, so public pages show the new prices and stock at once.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, case, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.catalog.importers.common import paragraphs, sanitize_html, slugify
from storefront.catalog.models import Category, Product, Variant, product_categories
from storefront.catalog.services import ImportReport, import_catalog
from storefront.extensions import db
from storefront.landing.services import clear_section_cache
from storefront.money import MoneyError, minor_units, parse_amount
from storefront.types import utcnow

PER_PAGE = 25
LOW_STOCK = 20  # a tracked product with 1..19 units left is "low"
MAX_STOCK = 1_000_000
MAX_DESCRIPTION = 100_000  # characters of HTML
STATUSES = ("active", "draft", "archived")
STOCK_FILTERS = {
    "in_stock": "In stock",
    "low": f"Low (under {LOW_STOCK})",
    "out": "Out of stock",
    "untracked": "Not tracked",
}
SORTS = {"title": "Title", "updated": "Last updated", "price": "Price", "stock": "Stock"}
MAX_REPORT_LINES = 500  # changes shown in an import preview; the counts cover the rest


# ---------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class ProductQuery:
    """What the list shows. Built from query-string args; unknown values fall back to the
    defaults, so a hand-edited URL never errors."""

    q: str = ""
    status: str = ""
    stock: str = ""
    category: int | None = None
    sort: str = "updated"
    direction: str = "desc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ProductQuery:
        """Parse ``request.args``: q (search text), status, stock, category (id), sort,
        dir (asc|desc) and page (1-based)."""
        def number(name: str) -> int | None:
            text = (args.get(name) or "").strip()
            return int(text) if text.isdigit() and len(text) < 10 else None

        sort = args.get("sort", "")
        direction = args.get("dir", "")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            status=args.get("status", "") if args.get("status") in STATUSES else "",
            stock=args.get("stock", "") if args.get("stock") in STOCK_FILTERS else "",
            category=number("category"),
            sort=sort if sort in SORTS else "updated",
            direction=direction if direction in ("asc", "desc") else (
                "asc" if sort == "title" else "desc"),
            page=max(number("page") or 1, 1),
        )

    def args(self, **changes) -> dict:
        """Query-string args of this query with ``changes``, defaults left out, for url_for."""
        query = replace(self, **changes)
        out = {"q": query.q, "status": query.status, "stock": query.stock,
               "category": query.category, "sort": query.sort, "dir": query.direction,
               "page": query.page}
        if (query.sort, query.direction) == ("updated", "desc"):
            del out["sort"], out["dir"]  # the default order
        if query.page == 1:
            del out["page"]
        return {k: v for k, v in out.items() if v not in ("", None)}

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.stock or self.category)


@dataclass
class ProductRow:
    """One product of the list with its variant figures: prices in minor units (None when
    it has no variant); ``tracked_stock`` is the units over tracked variants, None when no
    variant tracks inventory; ``sellable`` is True when some variant can be bought."""

    product: Product
    min_price: int | None
    max_price: int | None
    tracked_stock: int | None
    variant_count: int
    sellable: bool

    @property
    def low(self) -> bool:
        return self.tracked_stock is not None and 0 < self.tracked_stock < LOW_STOCK


@dataclass
class ProductPage:
    """A page of the list. ``categories`` are (id, "Parent › Child") for the filter."""

    query: ProductQuery
    rows: list[ProductRow]
    total: int
    pages: int
    categories: list[tuple[int, str]]

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.query.page - 1) * PER_PAGE + 1

    @property
    def last(self) -> int:
        return min(self.query.page * PER_PAGE, self.total)


def search_products(query: ProductQuery) -> ProductPage:
    """The signed-in merchant's products matching ``query``, one page of PER_PAGE.

    Four queries whatever the page holds: the categories, the count, the page (with its
    variant figures from one grouped subquery) and the page's variants.
    A page past the end shows the last page.
    """
    categories = _categories()
    if query.category is not None and query.category not in categories:
        query = replace(query, category=None)  # another merchant's or a deleted category

    sellable = or_(and_(Variant.track_inventory.is_(True), Variant.stock > 0),
                   and_(Variant.track_inventory.is_(False), Variant.in_stock_flag.is_(True)))
    figures = scoped(
        Variant,
        Variant.product_id.label("product_id"),
        func.min(Variant.price_cents).label("min_price"),
        func.max(Variant.price_cents).label("max_price"),
        # Units over tracked variants (negative stock counts as none); NULL if none tracks.
        func.sum(case((and_(Variant.track_inventory.is_(True), Variant.stock > 0), Variant.stock),
                      (Variant.track_inventory.is_(True), 0), else_=None)).label("tracked_stock"),
        func.count(Variant.id).label("variant_count"),
        func.max(case((sellable, 1), else_=0)).label("sellable"),
    ).group_by(Variant.product_id).subquery()

    conditions = []
    if query.q:
        skus = scoped(Variant, Variant.product_id).where(
            Variant.sku.icontains(query.q, autoescape=True))
        conditions.append(or_(Product.title.icontains(query.q, autoescape=True),
                              Product.handle.icontains(query.q, autoescape=True),
                              Product.id.in_(skus)))
    if query.status:
        conditions.append(Product.status == query.status)
    if query.category is not None:
        ids = _with_descendants(categories, query.category)
        conditions.append(Product.id.in_(
            db.select(product_categories.c.product_id)
            .where(product_categories.c.category_id.in_(ids))))
    if query.stock == "in_stock":
        conditions.append(figures.c.sellable == 1)
    elif query.stock == "out":
        conditions.append(func.coalesce(figures.c.sellable, 0) == 0)
    elif query.stock == "low":
        conditions.append(and_(figures.c.tracked_stock > 0, figures.c.tracked_stock < LOW_STOCK))
    elif query.stock == "untracked":
        conditions.append(figures.c.tracked_stock.is_(None))

    def joined(statement):
        return statement.outerjoin(figures, figures.c.product_id == Product.id).where(*conditions)

    total = db.session.scalar(joined(scoped(Product, func.count(Product.id))))
    pages = max(math.ceil(total / PER_PAGE), 1)
    query = replace(query, page=min(query.page, pages))

    key = {
        "title": func.lower(Product.title),
        "updated": Product.updated_at,
        "price": figures.c.min_price,
        "stock": figures.c.tracked_stock,
    }[query.sort]
    order = [key.asc(), Product.id.asc()] if query.direction == "asc" else [key.desc(), Product.id.desc()]
    if query.sort in ("price", "stock"):
        order[0] = order[0].nulls_last()  # products without the figure go last either way
    statement = joined(scoped(
        Product, Product, figures.c.min_price, figures.c.max_price, figures.c.tracked_stock,
        figures.c.variant_count, figures.c.sellable,
    )).order_by(*order).limit(PER_PAGE).offset((query.page - 1) * PER_PAGE).options(
        selectinload(Product.variants))
    rows = [
        ProductRow(product, min_price, max_price, tracked,
                   variant_count or 0, bool(sellable_flag))
        for product, min_price, max_price, tracked, variant_count, sellable_flag
        in db.session.execute(statement)
    ]
    labels = sorted(((c, _label(categories, c)) for c in categories), key=lambda i: i[1].casefold())
    return ProductPage(query, rows, total, pages, labels)


def _categories() -> dict[int, tuple[int | None, str]]:
    """{id: (parent id, name)} of the merchant's categories."""
    return {c.id: (c.parent_id, c.name) for c in db.session.execute(
        scoped(Category, Category.id, Category.parent_id, Category.name))}


def _label(categories: dict[int, tuple[int | None, str]], category_id: int) -> str:
    """"Clothing › Tshirts": the category's path from the top."""
    names, seen = [], set()
    while category_id in categories and category_id not in seen:  # bad data may loop
        seen.add(category_id)
        category_id, name = categories[category_id]
        names.append(name)
    return " › ".join(reversed(names))


def _with_descendants(categories: dict[int, tuple[int | None, str]], category_id: int) -> list[int]:
    """``category_id`` and every category below it, so "Clothing" finds its Tshirts."""
    ids, frontier = [category_id], [category_id]
    while frontier:
        frontier = [c for c, (parent, _name) in categories.items() if parent in frontier and c not in ids]
        ids.extend(frontier)
    return ids


# ---------------------------------------------------------------------------- the form


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
    return values


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
    parsed = _validate(values, list(variants), currency, [v.id for v in variants.values()])
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
    clear_section_cache()


def _free_handle(title: str) -> str:
    base = slugify(title)[:190] or "product"
    used = set(db.session.scalars(scoped(Product, Product.handle).where(
        Product.handle.startswith(base, autoescape=True))))
    handle, n = base, 1
    while handle in used:
        n += 1
        handle = f"{base}-{n}"
    return handle


# ---------------------------------------------------------------------------- CSV import


def preview_import(path: Path, company: Company, fmt: str | None) -> dict:
    """Dry-run the import of ``path`` (nothing is saved) and return its summary (see
    ``report_summary``). Raises CatalogImportError with file, line and column."""
    return report_summary(import_catalog(path, company, fmt, dry_run=True))


def run_import(path: Path, company: Company, fmt: str | None) -> dict:
    """Import ``path`` for real (one transaction) and return its summary. Raises
    CatalogImportError with nothing saved."""
    summary = report_summary(import_catalog(path, company, fmt, dry_run=False))
    clear_section_cache()
    return summary


def report_summary(report: ImportReport) -> dict:
    """A JSON-safe summary of an ImportReport: the counts, the first MAX_REPORT_LINES
    changes as {line, action, subject, details}, how many more there are, and the notes."""
    changes = [{"line": c.line, "action": c.action, "subject": c.subject, "details": c.details}
               for c in report.changes[:MAX_REPORT_LINES]]
    counts = {name: getattr(report, name) for name in (
        "products_created", "products_updated", "products_unchanged",
        "variants_created", "variants_updated", "variants_unchanged")}
    return {"fmt": report.fmt, "dry_run": report.dry_run, "counts": counts, "changes": changes,
            "more": max(len(report.changes) - MAX_REPORT_LINES, 0),
            "notes": report.notes[:MAX_REPORT_LINES]}
