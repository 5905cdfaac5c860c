"""Catalogue admin: the product list. Search (title, handle, SKU), filters (status, stock,
category with its subcategories) and sorting, as statements the admin pages; a fixed
number of queries whatever a page holds.

Every read goes through ``accounts.scoping`` (the signed-in merchant's rows only). The
product statuses (``STATUSES``) are defined here and shared with ``admin_forms``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Select, and_, case, func, or_
from sqlalchemy.orm import selectinload

from storefront.accounts.scoping import scoped
from storefront.catalog.models import Category, Product, Variant, product_categories
from storefront.extensions import db
from storefront.inputs import optional_int

LOW_STOCK = 20  # a tracked product with 1..19 units left is "low"
STATUSES = ("active", "draft", "archived")
STOCK_FILTERS = {
    "in_stock": "In stock",
    "low": f"Low (under {LOW_STOCK})",
    "out": "Out of stock",
    "untracked": "Not tracked",
}
SORTS = {"title": "Title", "updated": "Last updated", "price": "Price", "stock": "Stock"}


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
            return optional_int(args.get(name), 1)

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

    def within(self, categories: Mapping[int, object]) -> ProductQuery:
        """This query, its category dropped when not among ``categories`` (another
        merchant's, or deleted)."""
        return self if self.category is None or self.category in categories else replace(self, category=None)

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

    @classmethod
    def of(cls, product: Product, min_price, max_price, tracked, variant_count, sellable) -> ProductRow:
        """A row from ``product_statements``' columns."""
        return cls(product, min_price, max_price, tracked, variant_count or 0, bool(sellable))

    @property
    def low(self) -> bool:
        return self.tracked_stock is not None and 0 < self.tracked_stock < LOW_STOCK


def merchant_categories() -> dict[int, tuple[int | None, str]]:
    """{id: (parent id, name)} of the signed-in merchant's categories (one query)."""
    return {c.id: (c.parent_id, c.name) for c in db.session.execute(
        scoped(Category, Category.id, Category.parent_id, Category.name))}


def category_choices(categories: dict[int, tuple[int | None, str]]) -> list[tuple[int, str]]:
    """The filter's choices: (id, "Parent › Child") of ``categories``, by label."""
    return sorted(((c, _label(categories, c)) for c in categories), key=lambda i: i[1].casefold())


def product_statements(query: ProductQuery, categories: dict[int, tuple[int | None, str]]) -> tuple[Select, Select]:
    """(rows, count) of the signed-in merchant's products matching ``query`` (a category
    among ``categories``, the merchant's, with its subcategories), in its order; each row
    is ``ProductRow.of``'s columns: the variant figures come from one grouped subquery, the
    variants are loaded with the page (selectinload). Page them with ``admin.kit.paginate``."""
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

    key = {
        "title": func.lower(Product.title),
        "updated": Product.updated_at,
        "price": figures.c.min_price,
        "stock": figures.c.tracked_stock,
    }[query.sort]
    order = [key.asc(), Product.id.asc()] if query.direction == "asc" else [key.desc(), Product.id.desc()]
    if query.sort in ("price", "stock"):
        order[0] = order[0].nulls_last()  # products without the figure go last either way
    rows = joined(scoped(
        Product, Product, figures.c.min_price, figures.c.max_price, figures.c.tracked_stock,
        figures.c.variant_count, figures.c.sellable,
    )).order_by(*order).options(selectinload(Product.variants))
    return rows, joined(scoped(Product, func.count(Product.id)))


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
