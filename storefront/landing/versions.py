"""Versions of a landing page: hidden copies of a page's sections, products and theme that
an A/B experiment shows some visitors instead of the page (``analytics.experiments``).

A version is a ``LandingPage`` with status ``VERSION_STATUS`` ("variant"):

- it is edited in the page builder like any page (its own id, so every builder route and
  the section cache work unchanged);
- it is never served at its own address (``published_page`` and the old-address redirects
  want "published"), never listed among the merchant's pages, and cannot be published
  (``landing.pages``);
- its theme stylesheet is linked with a key that opens only the stylesheet
  (``themes.services.version_key``), never with its preview token.

Copying and replacing go section by section, product by product, so a concluded
experiment leaves the page with the winner's content and the version untouched (the audit
keeps what won).
"""
from __future__ import annotations

import copy
import secrets
import threading
import time
from itertools import chain

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, selectinload

from storefront.extensions import db
from storefront.landing.models import LandingPage, LandingPageProduct, Section
from storefront.types import new_token, utcnow

VERSION_STATUS = "variant"
SLUG_MAX = 120

# Versions by id, kept per process for SECTION_CACHE_SECONDS like ``services.published_page``:
# {page id: (expires_at, detached LandingPage)}.
_version_cache: dict[int, tuple[float, LandingPage]] = {}
_lock = threading.Lock()


def _sections_of(page: LandingPage) -> list[Section]:
    """The page's sections with their products, read now (the session keeps loaded objects
    across commits, so a loaded ``page.sections`` may miss a section added since)."""
    return list(db.session.execute(
        db.select(Section).filter_by(landing_page_id=page.id).order_by(Section.position, Section.id)
        .options(selectinload(Section.products)).execution_options(populate_existing=True)
    ).scalars())


def is_version(page: LandingPage) -> bool:
    """True for an experiment's hidden copy of a page."""
    return page.status == VERSION_STATUS


def copy_content(source: LandingPage, target: LandingPage) -> None:
    """Give ``target`` (flushed, same merchant) copies of ``source``'s sections with their
    settings and products in order, and its theme. ``target`` must have no sections yet
    (``replace_content`` removes them first). Flushes; the caller commits."""
    target.theme = copy.deepcopy(source.theme or {})
    for section in _sections_of(source):
        new = Section(landing_page_id=target.id, type=section.type, position=section.position,
                      settings=copy.deepcopy(section.settings or {}))
        db.session.add(new)
        db.session.flush()
        for item in section.products:
            db.session.add(LandingPageProduct(landing_page_id=target.id, section_id=new.id,
                                              product_id=item.product_id, position=item.position))
    target.updated_at = utcnow()
    db.session.flush()


def new_version(page: LandingPage) -> LandingPage:
    """A hidden copy of ``page`` with its title (a hero without a heading shows the title,
    so the copy must look the same), an unguessable address and a preview token. Flushes;
    the caller commits (with the experiment that owns it)."""
    suffix = "-v-" + secrets.token_hex(6)
    version = LandingPage(
        company_id=page.company_id,
        title=page.title,
        slug=page.slug[: SLUG_MAX - len(suffix)] + suffix,
        status=VERSION_STATUS,
        meta_title=page.meta_title,
        meta_description=page.meta_description,
        theme={},
        preview_token=new_token(),
    )
    db.session.add(version)
    db.session.flush()
    copy_content(page, version)
    return version


def replace_content(page: LandingPage, source: LandingPage) -> None:
    """Make ``page``'s sections, products and theme copies of ``source``'s (every aspect a
    version can change), under a row lock on ``page``. Flushes; the caller commits."""
    db.session.execute(db.select(LandingPage.id).where(LandingPage.id == page.id).with_for_update())
    for section in _sections_of(page):
        db.session.delete(section)
    db.session.flush()
    db.session.expire(page, ["sections"])
    copy_content(source, page)


def detached_page(cache: dict, lock: threading.Lock, key, query) -> LandingPage | None:
    """The page ``query`` finds, kept in ``cache[key]`` per process for SECTION_CACHE_SECONDS
    as a detached, read-only copy with every column loaded (read in a session of its own,
    so it never shares identity with a request's objects), or None (not cached). With the
    cache off (0), read in the request's session each time."""
    ttl = current_app.config["SECTION_CACHE_SECONDS"]
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    if ttl <= 0:
        return db.session.execute(query).scalar_one_or_none()
    with Session(db.engine, expire_on_commit=False) as own:
        page = own.execute(query).scalar_one_or_none()
    if page is not None:
        with lock:
            cache[key] = (now + ttl, page)
    return page


def version_page(page_id: int, company_id: int) -> LandingPage | None:
    """The version ``page_id`` of ``company_id`` (a detached, read-only copy, kept per process
    for SECTION_CACHE_SECONDS), or None when it is gone or no longer a version."""
    query = db.select(LandingPage).filter_by(id=page_id, company_id=company_id, status=VERSION_STATUS)
    return detached_page(_version_cache, _lock, page_id, query)


def forget_versions() -> None:
    """Drop this process's cached versions (``services.clear_section_cache`` calls it)."""
    with _lock:
        _version_cache.clear()


# Any change to a page or its sections, flushed in this process, drops the cached versions
# (as ``services`` drops its renderings); other processes catch up within the TTL.
@event.listens_for(Session, "before_flush")
def _forget_changed_versions(session, _flush_context, _instances) -> None:
    if any(isinstance(obj, (LandingPage, Section, LandingPageProduct))
           for obj in chain(session.new, session.dirty, session.deleted)):
        forget_versions()


def set_heading(version: LandingPage, heading: str) -> None:
    """Give the version's first hero section ``heading``. Raises LookupError when it has no
    hero. Flushes; the caller commits."""
    hero = next((s for s in _sections_of(version) if s.type == "hero"), None)
    if hero is None:
        raise LookupError("The page has no hero section to take the heading.")
    hero.settings = {**(hero.settings or {}), "heading": heading}
    version.updated_at = utcnow()
    db.session.flush()


def hero_heading(page: LandingPage) -> str | None:
    """The heading of the page's first hero section (None: none, or it shows the title)."""
    hero = next((s for s in _sections_of(page) if s.type == "hero"), None)
    return (hero.settings or {}).get("heading") if hero is not None else None


def drop_version(version: LandingPage) -> None:
    """Delete a version with its sections and products (a variant removed from a draft
    experiment). Refuses anything but a version (ValueError). Flushes."""
    if not is_version(version):
        raise ValueError("only an experiment's version of a page can be dropped this way")
    db.session.delete(version)
    db.session.flush()
