"""The landing-page builder's services: a page's sections and the products on them (the
page itself, its address, status and preview link: ``landing.pages``).

Callers pass objects already fetched through the tenant scope (``accounts.scoping``); the
product search starts from ``scoped()`` too. Each function commits its own transaction,
and every change bumps ``LandingPage.updated_at``, because the public section cache is
keyed on (page id, updated_at).
"""
from __future__ import annotations

import re

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from storefront.accounts.scoping import scoped
from storefront.catalog.models import Product, ProductImage, Variant
from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.landing.pages import BuilderError
from storefront.landing.sections import TYPES
from storefront.types import utcnow

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_SECTIONS = 40
MAX_GRID_PRODUCTS = 60
SEARCH_LIMIT = 20
MAX_QUERY = 100


# ----------------------------------------------------------------------------- sections


def _lock(page: LandingPage) -> None:
    """Serialise edits of one page's order (a no-op on SQLite)."""
    db.session.execute(db.select(LandingPage.id).where(LandingPage.id == page.id).with_for_update())


def _sections(page: LandingPage) -> list[Section]:
    return list(db.session.execute(
        db.select(Section).filter_by(landing_page_id=page.id).order_by(Section.position, Section.id)
        .execution_options(populate_existing=True)
    ).scalars())


def _move(items: list, item, direction: str) -> bool:
    if direction not in ("up", "down"):
        raise BuilderError("Move up or down.")
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, each in enumerate(items, start=1):
        each.position = position
    return True


def page_section(page: LandingPage, section_id) -> Section | None:
    """The section ``section_id`` of ``page``, else None (another page's or unknown)."""
    try:
        key = int(section_id)
    except (TypeError, ValueError):
        return None
    return db.session.execute(
        db.select(Section).filter_by(id=key, landing_page_id=page.id)
    ).scalar_one_or_none()


def add_section(page: LandingPage, section_type: str) -> Section:
    """A new section of ``section_type`` with its defaults, at the end of the page. Commits.

    Raises BuilderError for an unknown type or a page already at MAX_SECTIONS.
    """
    if section_type not in TYPES:
        raise BuilderError("Choose a section type.")
    _lock(page)
    sections = _sections(page)
    if len(sections) >= MAX_SECTIONS:
        raise BuilderError(f"A page holds at most {MAX_SECTIONS} sections.")
    section = Section(landing_page_id=page.id, type=section_type, position=len(sections) + 1,
                      settings=TYPES[section_type].defaults(page.title))
    db.session.add(section)
    page.updated_at = utcnow()
    db.session.commit()
    return section


def save_section(page: LandingPage, section: Section, settings: dict) -> None:
    """Store ``settings`` (validated by the type's form in ``landing.forms``) on ``section``;
    a hero keeps its photo, which is not a field of that form. Commits."""
    settings = dict(settings)
    if section.type == "hero" and (section.settings or {}).get("image"):
        settings["image"] = section.settings["image"]
    section.settings = settings
    page.updated_at = utcnow()
    db.session.commit()


def set_hero_heading(page: LandingPage, heading: str) -> str | None:
    """Give the page's first hero section ``heading`` (an experiment's winning headline);
    returns the heading it had (None: it showed the page title). Raises BuilderError when
    the page has no hero. Does not commit: the caller's transaction records why."""
    _lock(page)
    hero = next((s for s in _sections(page) if s.type == "hero"), None)
    if hero is None:
        raise BuilderError("The page has no hero section to take the headline.")
    before = (hero.settings or {}).get("heading")
    hero.settings = {**(hero.settings or {}), "heading": heading}
    page.updated_at = utcnow()
    return before


def remove_section(page: LandingPage, section: Section) -> None:
    """Delete ``section`` (and its products); the others close up. Commits."""
    _lock(page)
    db.session.delete(section)
    db.session.flush()
    for position, each in enumerate(_sections(page), start=1):
        each.position = position
    page.updated_at = utcnow()
    db.session.commit()


def move_section(page: LandingPage, section: Section, direction: str) -> bool:
    """Swap ``section`` with its neighbour ("up" or "down"); False at either end. Commits."""
    _lock(page)
    sections = _sections(page)
    moved = _move(sections, next(s for s in sections if s.id == section.id), direction)
    if moved:
        page.updated_at = utcnow()
    db.session.commit()
    return moved


# ----------------------------------------------------------------------------- products


def grid_items(section: Section) -> list[LandingPageProduct]:
    """The grid's product rows in order, read fresh (positions may just have changed)."""
    return list(db.session.execute(
        db.select(LandingPageProduct).filter_by(section_id=section.id)
        .order_by(LandingPageProduct.position, LandingPageProduct.id)
        .execution_options(populate_existing=True)
    ).scalars())


def grid_item(section: Section, item_id) -> LandingPageProduct | None:
    """The product row ``item_id`` of ``section``, else None."""
    try:
        key = int(item_id)
    except (TypeError, ValueError):
        return None
    return db.session.execute(
        db.select(LandingPageProduct).filter_by(id=key, section_id=section.id)
    ).scalar_one_or_none()


def clean_query(raw: str | None) -> str:
    """A search query: control characters removed, trimmed, at most MAX_QUERY characters."""
    return _CONTROL.sub("", raw or "").strip()[:MAX_QUERY]


def search_products(query: str) -> list[Product]:
    """The signed-in merchant's products whose title, handle or a SKU contains ``query``
    (all products when empty), by title, at most SEARCH_LIMIT."""
    statement = (
        scoped(Product).order_by(Product.title, Product.id).limit(SEARCH_LIMIT)
        .options(selectinload(Product.variants), selectinload(Product.images).joinedload(ProductImage.asset))
    )
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(or_(
            Product.title.ilike(pattern, escape="\\"),
            Product.handle.ilike(pattern, escape="\\"),
            Product.variants.any(Variant.sku.ilike(pattern, escape="\\")),
        ))
    return list(db.session.execute(statement).scalars())


def add_product(page: LandingPage, section: Section, product: Product) -> bool:
    """Put ``product`` (already tenant-checked) at the end of the grid; False when it is
    there already. Commits. Raises BuilderError for a section that is not a product grid or
    a grid already at MAX_GRID_PRODUCTS."""
    if section.type != "product_grid":
        raise BuilderError("Products go in a product grid.")
    _lock(page)
    items = grid_items(section)
    if any(item.product_id == product.id for item in items):
        return False
    if len(items) >= MAX_GRID_PRODUCTS:
        raise BuilderError(f"A grid holds at most {MAX_GRID_PRODUCTS} products.")
    db.session.add(LandingPageProduct(landing_page_id=page.id, section_id=section.id,
                                      product_id=product.id, position=len(items) + 1))
    page.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        # Added twice at once (a double click): the other request already did it.
        db.session.rollback()
        return False
    return True


def remove_product(page: LandingPage, section: Section, item: LandingPageProduct) -> None:
    """Take ``item`` off the grid; the others close up. Commits."""
    _lock(page)
    db.session.delete(item)
    db.session.flush()
    for position, each in enumerate(grid_items(section), start=1):
        each.position = position
    page.updated_at = utcnow()
    db.session.commit()


def move_product(page: LandingPage, section: Section, item: LandingPageProduct, direction: str) -> bool:
    """Swap ``item`` with its neighbour in the grid; False at either end. Commits."""
    _lock(page)
    items = grid_items(section)
    moved = _move(items, next(i for i in items if i.id == item.id), direction)
    if moved:
        page.updated_at = utcnow()
    db.session.commit()
    return moved
