"""Catalogue services: importing WooCommerce and Shopify product CSVs.

``import_catalog`` parses the whole file first (``catalog.importers``), then writes it in
one transaction: either every row is applied or nothing is. Matching rules, so that a
re-import updates in place and never duplicates:

- a product is the company's product with the same ``handle``;
- a variant is the company's variant with the same SKU (moved to the file's product if it
  sits under another one); a variant without SKU is the product's SKU-less variant with the
  same options; a variant with a new SKU adopts such a SKU-less variant if there is one.

Nothing is deleted: products, variants and categories missing from a file stay as they are.
A product left without any variant is saved as a draft, since nothing of it can be sold.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from storefront.accounts.models import Company
from storefront.catalog.importers import (
    CatalogImportError,
    ParsedCatalog,
    ParsedProduct,
    ParsedVariant,
    parse_catalog,
)
from storefront.catalog.importers.common import slugify
from storefront.catalog.models import Category, Product, ProductImage, Variant
from storefront.extensions import db
from storefront.money import format_money

_PRODUCT_FIELDS = (
    "title", "description_html", "short_description_html", "vendor", "product_type", "tags",
    "option_names", "status", "published",
)
_SHOWN_PRODUCT_FIELDS = ("title", "vendor", "product_type", "status", "published")  # old -> new
_VARIANT_FIELDS = (
    "title", "options", "price_cents", "compare_at_cents", "track_inventory", "stock",
    "in_stock_flag", "grams", "image_src", "position",
)
_LABELS = {  # report wording for field names
    "price_cents": "price", "compare_at_cents": "compare-at price", "in_stock_flag": "in stock",
    "track_inventory": "track inventory", "image_src": "image", "option_names": "options",
    "product_type": "type",
}
_FORMAT_NAMES = {"woocommerce": "WooCommerce", "shopify": "Shopify"}
_CHUNK = 500  # bound parameters per IN (...) query; SQLite allows 999 in old builds


@dataclass
class Change:
    """One create/update/move the import made (or, in a dry run, would make)."""

    line: int
    action: str  # "create" or "update"
    subject: str  # e.g. "product 'woo-beanie' (Beanie)" or "variant 'woo-beanie'"
    details: str = ""


@dataclass
class ImportReport:
    """What an import changed. Counts are per product / variant row of the file; a product
    whose only changes are in its variants counts as unchanged (its variants as updated)."""

    file: str
    fmt: str
    dry_run: bool = False
    products_created: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    variants_unchanged: int = 0
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable report: a summary, one line per change, then the importer's notes."""
        name, fmt = Path(self.file).name, _FORMAT_NAMES.get(self.fmt, self.fmt)
        created, updated = ("to create", "to update") if self.dry_run else ("created", "updated")
        head = (f"Dry run of {name} ({fmt}), nothing was saved" if self.dry_run
                else f"Imported {name} ({fmt})")
        summary = (
            f"{head}: products {self.products_created} {created}, {self.products_updated} "
            f"{updated}, {self.products_unchanged} unchanged; variants {self.variants_created} "
            f"{created}, {self.variants_updated} {updated}, {self.variants_unchanged} unchanged"
        )
        verbs = {"create": "created", "update": "updated"}
        out = [summary]
        for c in self.changes:
            verb = f"would {c.action}" if self.dry_run else verbs[c.action]
            details = f": {c.details}" if c.details else ""
            out.append(f"line {c.line}: {verb} {c.subject}{details}")
        return out + self.notes


def import_catalog(
    path: str | Path, company: Company, fmt: str | None = None, dry_run: bool = False
) -> ImportReport:
    """Import a product CSV into ``company``'s catalogue and commit.

    ``fmt``: "woocommerce", "shopify" or None (sniffed from the header). Prices are read in
    ``company.currency`` minor units. With ``dry_run`` the same work is done and reported,
    then rolled back. Owns the transaction: it commits or rolls back the session.

    Raises CatalogImportError (file, line, column) for any bad input, with the database
    rolled back so that no product of the file is half-imported.
    """
    parsed = parse_catalog(path, company.currency, fmt)  # every row is validated first
    report = ImportReport(parsed.file, parsed.fmt, dry_run, notes=list(parsed.notes))
    try:
        # Serialise imports per company: two at once would race on the same handles/SKUs.
        db.session.execute(select(Company.id).where(Company.id == company.id).with_for_update())
        _Importer(company.id, company.currency, parsed, report).run()
        db.session.flush()
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        detail = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise CatalogImportError(
            parsed.file, None, None,
            f"the database refused the import ({detail}); nothing was saved",
        ) from exc
    except BaseException:
        db.session.rollback()
        raise
    return report


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


class _Importer:
    """Applies a ParsedCatalog to one company inside the caller's transaction."""

    def __init__(
        self, company_id: int, currency: str, parsed: ParsedCatalog, report: ImportReport
    ) -> None:
        self.company_id, self.currency = company_id, currency
        self.parsed, self.report = parsed, report
        self.products: dict[str, Product] = {}
        self.variants: dict[str, Variant] = {}
        self.claimed: set[int] = set()  # id() of variants matched by this import
        handles = [p.handle for p in parsed.products]
        for chunk in _chunks(handles):
            self.products.update((p.handle, p) for p in db.session.scalars(
                select(Product)
                .where(Product.company_id == company_id, Product.handle.in_(chunk))
                .options(selectinload(Product.variants), selectinload(Product.images),
                         selectinload(Product.categories))
            ))
        skus = [v.sku for p in parsed.products for v in p.variants if v.sku]
        for chunk in _chunks(skus):
            self.variants.update((v.sku, v) for v in db.session.scalars(
                select(Variant).where(Variant.company_id == company_id, Variant.sku.in_(chunk))
            ))
        self.categories = _Categories(company_id, report)

    def run(self) -> None:
        # Categories first: a child needs its parent's id, which means a flush, and a flush
        # must not meet a half-built product.
        leaves: dict[tuple[str, ...], Category] = {}
        for pp in self.parsed.products:
            for path in pp.categories if "categories" not in pp.keep else ():
                if path not in leaves:
                    leaves[path] = self.categories.get(pp.line, path)
        # No autoflush: a lazy load in the middle of building a variant must not try to
        # insert it before its price is set.
        with db.session.no_autoflush:
            for pp in self.parsed.products:
                keep = "categories" in pp.keep
                self._product(pp, None if keep else [leaves[path] for path in pp.categories])

    def _product(self, pp: ParsedProduct, categories: list[Category] | None) -> None:
        product = self.products.get(pp.handle)
        created = product is None
        if product is None:
            product = Product(company_id=self.company_id, handle=pp.handle, title=pp.title)
            db.session.add(product)
            self.products[pp.handle] = product
        slot = len(self.report.changes)  # the product's line goes before its variants' lines
        # Variants first: whether any exists decides if the product may be active.
        for pv in pp.variants:
            self._variant(product, pv)
        wanted = {f: getattr(pp, f) for f in _PRODUCT_FIELDS if f not in pp.keep}
        if not pp.variants:
            del wanted["option_names"]  # option names come with variants; keep the known ones
        if not product.variants and wanted.get("status") == "active":
            wanted["status"] = "draft"
            self.report.notes.append(f"line {pp.line}: {pp.handle}: no variants, so it is a draft")
        changed = [f for f, value in wanted.items() if created or getattr(product, f) != value]
        shown = [] if created else [
            self._diff(f, getattr(product, f), wanted[f]) if f in _SHOWN_PRODUCT_FIELDS
            else _LABELS.get(f, f.removesuffix("_html").replace("_", " ")) for f in changed
        ]
        for f in changed:
            setattr(product, f, wanted[f])
        images = [(i.src, i.alt, i.position) for i in pp.images]
        if "images" not in pp.keep and (
            created or images != [(i.src, i.alt, i.position) for i in product.images]
        ):
            # An image whose source did not change keeps its stored copy: fetched once.
            kept = {i.src: i for i in product.images}
            product.images = [
                ProductImage(src=s, alt=a, position=n, asset_id=kept[s].asset_id,
                             fetched_at=kept[s].fetched_at, fetch_error=kept[s].fetch_error)
                if s in kept else ProductImage(src=s, alt=a, position=n)
                for s, a, n in images
            ]
            changed.append("images")
            shown.append(f"images ({len(images)})")
        if categories is not None and (created or set(categories) != set(product.categories)):
            product.categories = categories
            changed.append("categories")
            shown.append("categories " + (", ".join(c.name for c in categories) or "none"))
        subject = f"product {pp.handle!r} ({pp.title})"
        if created:
            self.report.products_created += 1
            self.report.changes.insert(slot, Change(pp.line, "create", subject))
        elif changed:
            self.report.products_updated += 1
            self.report.changes.insert(slot, Change(pp.line, "update", subject, ", ".join(shown)))
        else:
            self.report.products_unchanged += 1

    def _variant(self, product: Product, pv: ParsedVariant) -> None:
        variant = self._match(product, pv)
        created = variant is None
        subject = f"variant {pv.sku!r}" if pv.sku else f"variant {pv.title!r} of {product.handle!r}"
        if variant is None:
            variant = Variant(company_id=self.company_id, sku=pv.sku)
            product.variants.append(variant)  # the one-to-many side cascades into the session
            if pv.sku:
                self.variants[pv.sku] = variant
        self.claimed.add(id(variant))
        changed = [f for f in _VARIANT_FIELDS if created or getattr(variant, f) != getattr(pv, f)]
        shown = [] if created else [
            self._diff(f, getattr(variant, f), getattr(pv, f)) for f in changed
        ]
        if not created and variant.product is not product:
            # The SKU names the sellable thing, so it follows the file to its new product.
            shown.append(f"moved from product {variant.product.handle!r}")
            changed.append("product")
            variant.product = product
        if pv.sku and variant.sku != pv.sku:
            shown.append(f"SKU set to {pv.sku!r}")  # adopted a SKU-less variant, same options
            changed.append("sku")
            variant.sku = pv.sku
        for f in changed:
            if f in _VARIANT_FIELDS:
                setattr(variant, f, getattr(pv, f))
        if created:
            self.report.variants_created += 1
            price = _show("price_cents", pv.price_cents, self.currency)
            self.report.changes.append(Change(pv.line, "create", subject, price))
        elif changed:
            self.report.variants_updated += 1
            self.report.changes.append(Change(pv.line, "update", subject, ", ".join(shown)))
        else:
            self.report.variants_unchanged += 1

    def _diff(self, name: str, old: object, new: object) -> str:
        label = _LABELS.get(name, name)
        return f"{label} {_show(name, old, self.currency)} -> {_show(name, new, self.currency)}"

    def _match(self, product: Product, pv: ParsedVariant) -> Variant | None:
        if pv.sku and pv.sku in self.variants:
            return self.variants[pv.sku]
        return next(
            (v for v in product.variants
             if v.sku is None and v.options == pv.options and id(v) not in self.claimed),
            None,
        )


class _Categories:
    """Finds or creates categories by (parent, name), case-insensitively."""

    def __init__(self, company_id: int, report: ImportReport) -> None:
        self.company_id, self.report = company_id, report
        existing = db.session.scalars(
            select(Category).where(Category.company_id == company_id)
        ).all()
        self.by_key = {(c.parent_id, c.name.casefold()): c for c in existing}
        self.slugs = {c.slug for c in existing}

    def get(self, line: int, path: tuple[str, ...]) -> Category:
        """The leaf category of ``path``, creating missing levels (flushes to get ids)."""
        parent: Category | None = None
        for depth, name in enumerate(path, start=1):
            key = (parent.id if parent else None, name.casefold())
            category = self.by_key.get(key)
            if category is None:
                category = Category(company_id=self.company_id, parent_id=key[0], name=name,
                                    slug=self._slug(path[:depth]))
                db.session.add(category)
                db.session.flush()
                self.by_key[key] = category
                label = " > ".join(path[:depth])
                self.report.changes.append(Change(line, "create", f"category {label!r}"))
            parent = category
        assert parent is not None  # paths are never empty
        return parent

    def _slug(self, path: Iterable[str]) -> str:
        base = slugify("-".join(path))[:190] or "category"
        slug, n = base, 1
        while slug in self.slugs:
            n += 1
            slug = f"{base}-{n}"
        self.slugs.add(slug)
        return slug


def _show(field_name: str, value: object, currency: str) -> str:
    """A field value for the report: money formatted, options as "Size: M"."""
    if field_name in ("price_cents", "compare_at_cents"):
        return "none" if not isinstance(value, int) else format_money(value, currency)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if value is None or value == "":
        return "none"
    return str(value)
