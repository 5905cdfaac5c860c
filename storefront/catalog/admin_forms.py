"""Catalogue admin services: saving a product and its variants, creating a product with
one default variant, and archiving one. The values come validated, in stored units, from
the forms of ``catalog.forms``.

Every read goes through ``accounts.scoping`` (the signed-in merchant's rows only). After any
write the landing-page section cache is cleared, so public pages show the new prices and
stock at once.
"""
from __future__ import annotations

from sqlalchemy import case, false, func, or_
from sqlalchemy.exc import IntegrityError

from storefront.accounts.models import Company
from storefront.accounts.scoping import scoped
from storefront.catalog.importers.common import slugify
from storefront.catalog.models import Product, Variant
from storefront.extensions import db
from storefront.inputs import parse_ids
from storefront.types import utcnow

MAX_STOCK = 1_000_000
MAX_DESCRIPTION = 100_000  # characters of HTML
MAX_UPSELLS = 8  # complementary products per product (the drawer shows at most 3 at once)
MAX_UPSELL_OPTIONS = 500  # products listed in the picker; the chosen ones always are


class ProductFormError(ValueError):
    """The product could not be saved; ``str(error)`` says why (about the whole form)."""


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


def taken_skus(skus: list[str], own_variant_ids: list[int]) -> dict[str, str]:
    """{sku: title of the product that has it} for those of ``skus`` that the merchant's
    other variants (not ``own_variant_ids``) use. One query."""
    if not skus:
        return {}
    statement = (scoped(Variant, Variant.sku, Product.title)
                 .join(Product, Product.id == Variant.product_id)
                 .where(Variant.sku.in_(skus)))
    if own_variant_ids:
        statement = statement.where(Variant.id.not_in(own_variant_ids))
    return dict(db.session.execute(statement).all())


def update_product(product: Product, fields: dict, variants: dict[int, dict], upsells: list[int] | None) -> Product:
    """Save validated values onto ``product`` (already fetched through the scoping helper)
    and its variants, and commit: ``fields`` are the product's columns, ``variants`` each
    variant's by id (prices in minor units; a ``stock`` of None keeps the count), ``upsells``
    the complementary products' ids (None: keep them). The forms (``catalog.forms``) check
    the values first.

    Raises ProductFormError (nothing saved) when a save at the same moment took a SKU.
    """
    wanted_product = {**fields, **({"upsell_product_ids": upsells} if upsells is not None else {})}
    changed = _assign(product, wanted_product)
    moving = [v for v in product.variants if v.sku != variants[v.id]["sku"]]
    if len(moving) > 1:
        # Variants may swap SKUs: clear them first, or the first UPDATE would hit the
        # (company, sku) unique constraint while the other variant still holds the SKU.
        for variant in moving:
            variant.sku = None
        db.session.flush()
    for variant in product.variants:
        wanted = dict(variants[variant.id])
        if wanted["stock"] is None:
            wanted["stock"] = variant.stock  # untracked and left empty: keep the count
        changed = _assign(variant, wanted) or changed
    if changed:
        product.updated_at = utcnow()  # a variant-only change must move the product too
    _commit()
    return product


def create_product(company: Company, fields: dict, variant: dict) -> Product:
    """Create a product from validated ``fields`` with one default ``variant`` (columns as
    ``update_product``'s) and commit. The handle is made from the title, unique among the
    merchant's products. Raises ProductFormError (nothing saved) when a save at the same
    moment took the SKU."""
    product = Product(company_id=company.id, handle=_free_handle(fields["title"]), option_names=[], tags=[],
                      **fields)
    product.variants.append(Variant(company_id=company.id, title="Default Title", options={}, position=1,
                                    **{**variant, "stock": variant["stock"] or 0}))
    db.session.add(product)
    _commit()
    return product


def archive_product(product: Product) -> bool:
    """Archive ``product`` (hidden from shoppers, kept for orders) and commit. Returns False
    when it was already archived. Setting the status back to active restores it."""
    if product.status == "archived":
        return False
    product.status = "archived"
    product.updated_at = utcnow()
    _commit()
    return True


def _assign(obj, wanted: dict) -> bool:
    changed = False
    for name, value in wanted.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        # Another save took the SKU (or handle) between our check and this commit.
        db.session.rollback()
        raise ProductFormError("Another change was saved at the same time and a SKU or handle is now "
                               "taken. Check the SKUs and save again.") from exc


def _free_handle(title: str) -> str:
    base = slugify(title)[:190] or "product"
    used = set(db.session.scalars(scoped(Product, Product.handle).where(
        Product.handle.startswith(base, autoescape=True))))
    handle, n = base, 1
    while handle in used:
        n += 1
        handle = f"{base}-{n}"
    return handle
