"""Landing-page reads: the published page by slug, its sections rendered once and cached,
and the whole page as a first view without cookies sees it, cached too."""
from __future__ import annotations

import threading
import time
from itertools import chain

from flask import current_app, render_template
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from storefront.accounts.models import Company
from storefront.catalog.models import Product, ProductImage, Variant
from storefront.catalog.plan_terms import PLANS  # noqa: F401  (defines Variant's plan columns)
from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.landing.sections import section_views
from storefront.landing.versions import detached_page
from storefront.types import utcnow

# Rendered sections per process: {(page id, updated_at): (expires_at, html)}. Stock badges
# may lag by SECTION_CACHE_SECONDS; add to cart always checks live stock. An entry expires
# early at a countdown's deadline, so the countdown is never shown after it.
_section_cache: dict[tuple, tuple[float, str]] = {}
_cache_lock = threading.Lock()
# Published pages by slug: {slug: (expires_at, detached LandingPage)}.
_page_cache: dict[str, tuple[float, LandingPage]] = {}
# Whole pages as a visitor without any of the shop's cookies sees them (``whole_page``), with the CSRF
# token replaced by the placeholder: {key: (expires_at, html)}.
_whole_page_cache: dict[tuple, tuple[float, str]] = {}
# Keys vary by page, version and country header: a bound keeps a flood of odd header
# values from growing the process.
WHOLE_PAGE_ENTRIES = 256
CSRF_PLACEHOLDER = "__CSRF_TOKEN__"


def published_page(slug: str) -> LandingPage | None:
    """The published page with ``slug``, or None for a draft, archived or unknown slug.

    Kept per process for SECTION_CACHE_SECONDS like the rendered sections (so publishing
    or unpublishing shows within that time everywhere, at once in this process). The cached
    page and its company are detached, read-only copies with every column loaded.
    """
    if len(slug) > 120:
        return None
    query = db.select(LandingPage).filter_by(slug=slug, status="published")
    return detached_page(_page_cache, _cache_lock, slug, query)


def shop_context(company_id: int | None, landing_page_id: int | None) -> dict:
    """Template context for cart, checkout and order pages: the merchant's name, and the
    landing page the shopper came from (``shop_page``, for its theme) with its address as
    the link back; both None when the page is gone or unpublished."""
    if company_id is None:
        return {"shop_name": None, "shop_url": None, "shop_page": None}
    company = db.session.get(Company, company_id)
    page = db.session.get(LandingPage, landing_page_id) if landing_page_id else None
    if page is None or page.status != "published":
        page = None
    return {"shop_name": company.name if company else None, "shop_url": f"/lp/{page.slug}" if page else None,
            "shop_page": page}


def load_sections(page: LandingPage) -> list[Section]:
    """The page's sections with their products, variants (with their subscribe-and-save plan,
    ``catalog.plan_terms``) and images in four queries."""
    return list(
        db.session.execute(
            db.select(Section)
            .filter_by(landing_page_id=page.id)
            .order_by(Section.position)
            .options(
                selectinload(Section.products)
                .joinedload(LandingPageProduct.product)
                .options(selectinload(Product.variants).undefer_group("plan"),
                         selectinload(Product.images).joinedload(ProductImage.asset))
            )
        ).scalars()
    )


def rendered_sections(page: LandingPage, csrf_token: str) -> str:
    """The page's sections as HTML, from the per-process cache when fresh.

    The cached HTML holds a placeholder where each form's CSRF token goes, so one rendering
    serves every shopper; ``csrf_token`` is filled in per request. An experiment's variant
    is rendered as its own page (``landing.versions``), so the cache keys on the variant
    through the version's page id.
    """
    ttl = current_app.config["SECTION_CACHE_SECONDS"]
    key = (page.id, page.updated_at)
    now = time.monotonic()
    entry = _section_cache.get(key)
    if entry is None or entry[0] <= now or ttl <= 0:
        sections = load_sections(page)
        wall_now = utcnow()
        # Countdowns are shown only before their deadline, decided here at render time; so
        # the cached rendering must not outlive the earliest deadline still ahead.
        views, next_change = section_views(sections, page.company, wall_now)
        html = render_template(
            "landing/_sections.html",
            page=page,
            sections=sections,
            section_views=views,
            currency=page.company.currency,
            locale=page.company.locale,
            csrf_placeholder=CSRF_PLACEHOLDER,
        )
        expires = now + ttl
        if next_change is not None:
            expires = min(expires, now + (next_change - wall_now).total_seconds())
        with _cache_lock:
            # Renderings of this page's older versions (before an admin edit) are dead.
            for stale in [k for k in _section_cache if k[0] == page.id and k != key]:
                del _section_cache[stale]
            _section_cache[key] = entry = (expires, html)
    return entry[1].replace(CSRF_PLACEHOLDER, csrf_token)


def whole_page_key(page: LandingPage, shown: LandingPage, country: str | None) -> tuple | None:
    """The whole-page cache's key for ``page`` shown as ``shown`` (an experiment's version,
    else the page) to a visitor in ``country`` (the proxy header's alpha-2 code, or None),
    or None when the cache is off (SECTION_CACHE_SECONDS 0). Only for a request without any
    cookie of the shop's: such a visitor has no cart, session, flash, saved items or visit
    history, so nothing on the page is their own. The app is part of the key: tests build several."""
    if current_app.config["SECTION_CACHE_SECONDS"] <= 0:
        return None
    return (id(current_app._get_current_object()), page.id, page.updated_at, shown.id, shown.updated_at,
            country or "")


def cached_whole_page(key: tuple, csrf_token: str) -> str | None:
    """The cached page for ``key`` (``whole_page_key``) with ``csrf_token`` filled in, or
    None when there is none or it expired."""
    entry = _whole_page_cache.get(key)
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1].replace(CSRF_PLACEHOLDER, csrf_token)


def keep_whole_page(key: tuple, html: str, csrf_token: str, shown: LandingPage, private: tuple[str, ...]) -> bool:
    """Cache ``html``, the page rendered for ``key`` with ``csrf_token``, until its sections'
    cached rendering expires (a countdown's deadline included). Nothing is kept when any of
    ``private`` (the visit's own ids) appears in it. Returns whether it was kept."""
    if not csrf_token or csrf_token not in html or any(value and value in html for value in private):
        return False
    section_entry = _section_cache.get((shown.id, shown.updated_at))
    if section_entry is None:
        return False
    with _cache_lock:
        if len(_whole_page_cache) >= WHOLE_PAGE_ENTRIES:
            now = time.monotonic()
            for stale in [k for k, (expires, _html) in _whole_page_cache.items() if expires <= now]:
                del _whole_page_cache[stale]
            if len(_whole_page_cache) >= WHOLE_PAGE_ENTRIES:
                return False
        _whole_page_cache[key] = (section_entry[0], html.replace(csrf_token, CSRF_PLACEHOLDER))
    return True


# Any change to what a page shows, flushed in this process, drops the caches at once (admin
# edits, imports); other processes catch up within SECTION_CACHE_SECONDS.
_SHOWN_ON_PAGES = (LandingPage, Section, LandingPageProduct, Product, ProductImage, Variant)


@event.listens_for(Session, "before_flush")
def _forget_changed_pages(session, _flush_context, _instances) -> None:
    if any(isinstance(obj, _SHOWN_ON_PAGES) for obj in chain(session.new, session.dirty, session.deleted)):
        clear_section_cache()
        # Again after the commit: a page rendered between this flush and the commit (another
        # request of this process) would otherwise be cached from the old rows.
        session.info["pages_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session) -> None:
    if session.info.pop("pages_changed", False):
        clear_section_cache()


def clear_section_cache() -> None:
    """Forget every cached rendering (after an import or an admin edit in this process)."""
    with _cache_lock:
        _section_cache.clear()
        _page_cache.clear()
        _whole_page_cache.clear()
