"""Landing pages themselves: their addresses (slugs and the redirects of old ones), details,
copies, status and private preview links. The sections and products on a page are
``landing.builder``'s.

Callers pass objects already fetched through the tenant scope (``accounts.scoping``); list
queries here start from ``scoped()`` too. Each function commits its own transaction, and
every change to what a page shows bumps ``LandingPage.updated_at``, because the public
caches are keyed on (page id, updated_at).
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import Select, func
from sqlalchemy.exc import IntegrityError

from storefront.accounts.scoping import scoped
from storefront.extensions import db
from storefront.landing.models import LandingPage, SlugRedirect
from storefront.landing.versions import VERSION_STATUS, copy_content
from storefront.types import new_token, utcnow

STATUSES = ("draft", "published", "archived")
SLUG_MIN, SLUG_MAX = 3, 120
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


class PageInvalid(ValueError):
    """Page details that cannot be saved as they are (an address taken): ``errors`` maps an
    input (``slug``) to the message for the merchant."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class BuilderError(ValueError):
    """An action that cannot be done (too many sections, wrong section type, publishing an
    experiment's version...); the message is for the merchant."""


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
    )
    db.session.add(copy_page)
    db.session.flush()
    copy_content(page, copy_page)
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
