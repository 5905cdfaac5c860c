"""The landing-page builder's services: pages, their sections and the products on them.

Callers pass objects already fetched through the tenant scope (``accounts.scoping``); list
and search queries here start from ``scoped()`` too. Each function commits its own
transaction, and every change bumps ``LandingPage.updated_at``, because the public section
cache is keyed on (page id, updated_at).
"""
from __future__ import annotations

import copy
import re
import unicodedata

from sqlalchemy import Select, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from storefront.accounts.scoping import scoped
from storefront.catalog.models import Product, ProductImage, Variant
from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section, SlugRedirect
from storefront.landing.sections import TYPES
from storefront.landing.versions import VERSION_STATUS
from storefront.types import new_token, utcnow

STATUSES = ("draft", "published", "archived")
SLUG_MIN, SLUG_MAX = 3, 120
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_SECTIONS = 40
MAX_GRID_PRODUCTS = 60
SEARCH_LIMIT = 20
MAX_QUERY = 100


class PageInvalid(ValueError):
    """Page details that cannot be saved as they are (an address taken): ``errors`` maps an
    input (``slug``) to the message for the merchant."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class BuilderError(ValueError):
    """An action that cannot be done (too many sections, wrong section type...); the
    message is for the merchant."""


# ----------------------------------------------------------------------------- slugs


def slugify(text: str) -> str:
    """"Été 2025: Sale!" -> "ete-2025-sale" (ASCII, lowercase, hyphens), cut to 120."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:SLUG_MAX].rstrip("-")


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` is not a valid address, or None when its form is fine."""
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        return f"The address must be {SLUG_MIN} to {SLUG_MAX} characters long."
    if not _SLUG.fullmatch(slug):
        return ("Use only lowercase letters (a-z), digits and hyphens, "
                "starting and ending with a letter or digit.")
    return None


def _slug_taken(slug: str, company_id: int, page_id: int | None) -> bool:
    """True when another page has ``slug``, or it is an old address of another merchant's
    page (their old links keep working). An old address of this merchant's can be reused."""
    other_page = db.session.execute(
        db.select(LandingPage.id).where(LandingPage.slug == slug, LandingPage.id != (page_id or 0))
    ).first()
    if other_page is not None:
        return True
    redirect = db.session.execute(db.select(SlugRedirect).filter_by(old_slug=slug)).scalar_one_or_none()
    return redirect is not None and redirect.company_id != company_id


def free_slug(base: str, company_id: int, page_id: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first address not taken."""
    base = base[: SLUG_MAX - 4].rstrip("-") or "page"
    if not _slug_taken(base, company_id, page_id):
        return base
    for number in range(2, 100):
        candidate = f"{base}-{number}"
        if not _slug_taken(candidate, company_id, page_id):
            return candidate
    return f"{base[:SLUG_MAX - 9]}-{new_token()[:8].lower().replace('_', 'x').replace('-', 'x')}"


def _claim_slug(page: LandingPage, slug: str) -> None:
    """Give ``page`` the address ``slug``; its old address, if any, redirects to it."""
    old = page.slug
    if old == slug:
        return
    # One of this merchant's old addresses being reused: it now names this page.
    db.session.execute(db.delete(SlugRedirect).where(SlugRedirect.old_slug == slug))
    if old:
        existing = db.session.execute(db.select(SlugRedirect).filter_by(old_slug=old)).scalar_one_or_none()
        if existing is None:
            db.session.add(SlugRedirect(company_id=page.company_id, landing_page_id=page.id, old_slug=old))
        else:
            existing.landing_page_id = page.id
    page.slug = slug


# ----------------------------------------------------------------------------- pages


def _commit_slug() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        # Someone took the address between our check and the commit.
        db.session.rollback()
        raise PageInvalid({"slug": "This address was just taken by another page. Choose another."}) from exc


def page_statements(status: str | None = None) -> tuple[Select, Select]:
    """(the signed-in merchant's pages, most recently updated first; their count), ``status``
    filtering both. Page them with ``admin.kit.paginate``."""
    # An experiment's versions of a page (landing.versions) are edited from the experiment.
    rows = (scoped(LandingPage).where(LandingPage.status != VERSION_STATUS)
            .order_by(LandingPage.updated_at.desc(), LandingPage.id.desc()))
    count = scoped(LandingPage, func.count(LandingPage.id)).where(LandingPage.status != VERSION_STATUS)
    if status in STATUSES:
        rows, count = rows.where(LandingPage.status == status), count.where(LandingPage.status == status)
    return rows, count


def create_page(company, title: str, slug: str = "", meta_title: str = "", meta_description: str = "") -> LandingPage:
    """A new draft page ``title`` at ``slug`` (checked by ``slug_problem`` already; when
    empty, a free address is made from the title). Values as validated by
    ``landing.forms.NewPageForm``.

    Raises PageInvalid when the address is taken or none can be made. Commits.
    """
    if not slug:
        slug = free_slug(slugify(title), company.id)
        if slug_problem(slug):
            raise PageInvalid({"slug": "Choose an address: lowercase letters, digits and hyphens."})
    elif _slug_taken(slug, company.id, None):
        raise PageInvalid({"slug": f"This address is already in use. Try “{free_slug(slug, company.id)}”."})
    # One of this merchant's old addresses being reused: it now names the new page.
    db.session.execute(db.delete(SlugRedirect).where(SlugRedirect.old_slug == slug))
    page = LandingPage(company_id=company.id, title=title, slug=slug, status="draft",
                       theme={}, meta_title=meta_title or None, meta_description=meta_description or None)
    db.session.add(page)
    _commit_slug()
    return page


def update_page(page: LandingPage, title: str, slug: str, meta_title: str = "", meta_description: str = "") -> bool:
    """Save the details on ``page`` (values as validated by ``landing.forms.PageForm``).

    A new slug keeps the old one as a redirect. Returns True when the slug changed.
    Raises PageInvalid when the address is taken. Commits.
    """
    if slug != page.slug and _slug_taken(slug, page.company_id, page.id):
        raise PageInvalid({"slug": f"This address is already in use. Try “{free_slug(slug, page.company_id, page.id)}”."})
    renamed = slug != page.slug
    page.title = title
    page.meta_title = meta_title or None
    page.meta_description = meta_description or None
    _claim_slug(page, slug)
    page.updated_at = utcnow()
    _commit_slug()
    return renamed


def duplicate_page(page: LandingPage) -> LandingPage:
    """A draft copy of ``page``: title "… (copy)", a free ``<slug>-copy`` address, the
    theme, sections and products; no preview link. Commits."""
    copy_page = LandingPage(
        company_id=page.company_id,
        title=(page.title + " (copy)")[:200],
        slug=free_slug(page.slug[: SLUG_MAX - 5] + "-copy", page.company_id),
        status="draft",
        meta_title=page.meta_title,
        meta_description=page.meta_description,
        theme=copy.deepcopy(page.theme or {}),
    )
    db.session.add(copy_page)
    db.session.flush()
    for section in sorted(page.sections, key=lambda s: s.position):
        new = Section(landing_page_id=copy_page.id, type=section.type, position=section.position,
                      settings=copy.deepcopy(section.settings or {}))
        db.session.add(new)
        db.session.flush()
        for item in section.products:
            db.session.add(LandingPageProduct(landing_page_id=copy_page.id, section_id=new.id,
                                              product_id=item.product_id, position=item.position))
    db.session.commit()
    return copy_page


def set_status(page: LandingPage, status: str) -> bool:
    """Move ``page`` to draft, published or archived; False when it already was. Commits.

    Raises ValueError for another status, BuilderError for an experiment's version of a
    page (it is shown only through its experiment, and becomes the page when it wins).
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if page.status == VERSION_STATUS:
        raise BuilderError("This is a version in an experiment: conclude the experiment to make it the page.")
    if page.status == status:
        return False
    page.status = status
    page.updated_at = utcnow()
    db.session.commit()
    return True


def preview_token(page: LandingPage) -> str:
    """The page's private preview token, created (256 bits) on first use. Commits."""
    if not page.preview_token:
        page.preview_token = new_token()
        db.session.commit()
    return page.preview_token


def reset_preview_token(page: LandingPage) -> str:
    """A new preview token: the old private link stops working. Commits."""
    page.preview_token = new_token()
    db.session.commit()
    return page.preview_token


def redirected_page(slug: str) -> LandingPage | None:
    """The published page an old address ``slug`` now points to, else None."""
    if len(slug) > SLUG_MAX:
        return None
    return db.session.execute(
        db.select(LandingPage)
        .join(SlugRedirect, SlugRedirect.landing_page_id == LandingPage.id)
        .where(SlugRedirect.old_slug == slug, LandingPage.status == "published")
    ).scalar_one_or_none()


def preview_page(token: str) -> LandingPage | None:
    """The page with the private preview ``token``, whatever its status."""
    if not token or len(token) > 64:
        return None
    return db.session.execute(db.select(LandingPage).filter_by(preview_token=token)).scalar_one_or_none()


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
