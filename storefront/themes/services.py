"""Reading and writing a landing page's theme. Services own the transaction.

Importing this module also installs the write guard: every assignment to
``LandingPage.theme``, from any code, goes through ``validate_theme`` and stores its normal
form, or raises ThemeError. (Imported with the app: ``themes.routes`` imports it.)
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import event

from storefront.extensions import db
from storefront.landing.models import LandingPage
from storefront.landing.versions import VERSION_STATUS
from storefront.themes.css import stylesheet
from storefront.themes.validation import stored_theme, validate_theme
from storefront.types import utcnow


@event.listens_for(LandingPage.theme, "set", retval=True)
def _validate_on_write(_target, value, _old, _initiator):
    return validate_theme(value)


def page_theme(page: LandingPage) -> dict:
    """The page's theme in normal form: ``{"preset": key, "overrides": {name: value}}``."""
    return stored_theme(page.theme)


def update_theme(page: LandingPage, raw: object) -> dict:
    """Validate ``raw`` ({"preset", "overrides"}), store its normal form on ``page``, bump
    ``updated_at`` and commit. Returns the stored theme; raises ThemeError (nothing saved)."""
    theme = validate_theme(raw)
    page.theme = theme
    page.updated_at = utcnow()
    db.session.commit()
    return theme


def reset_theme(page: LandingPage) -> dict:
    """Drop every override: the page keeps its preset, with the preset's values. Commits."""
    return update_theme(page, {"preset": page_theme(page)["preset"], "overrides": {}})


def theme_version(page: LandingPage) -> str:
    """The content hash of the page's stylesheet (20 hex digits), for its versioned URL."""
    return stylesheet(page_theme(page))[1]


def version_key(page: LandingPage) -> str:
    """The key in an experiment version's stylesheet URL (``?key=``, 32 hex digits): an HMAC
    of the version's id with the app's secret key. Unlike the preview token, which opens
    the whole page at ``/lp/preview/<token>``, it opens only the version's stylesheet, so
    the public page can link it for the visitors shown that version."""
    return hmac.new(current_app.secret_key.encode(), f"theme-of-version:{page.id}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def page_for_stylesheet(slug: str, preview: str | None, key: str | None = None) -> LandingPage | None:
    """The page whose stylesheet ``/lp/<slug>/theme.css`` serves: a published page, an
    experiment's version (``landing.versions``) when ``key`` is its ``version_key``, or a
    draft when ``preview`` is its preview token. None otherwise (the route answers 404)."""
    if len(slug) > 120:
        return None
    page = db.session.execute(db.select(LandingPage).filter_by(slug=slug)).scalar_one_or_none()
    if page is None or page.status == "published":
        return page
    if page.status == VERSION_STATUS and key and hmac.compare_digest(key.encode(), version_key(page).encode()):
        return page
    if preview and page.preview_token and secrets.compare_digest(preview.encode(), page.preview_token.encode()):
        return page
    return None
