"""Public theme stylesheets: ``/lp/<slug>/theme.css`` and the presets' swatches.

The landing page links its stylesheet with the content hash in the URL (``?v=<hash>``): a
request with the current hash may be cached for a year (a new theme is a new URL); any other
is cached five minutes. Both carry a strong ETag and answer 304 to ``If-None-Match``.
"""
from __future__ import annotations

from flask import Response, abort, request, url_for

from storefront.landing.models import LandingPage
from storefront.landing.versions import VERSION_STATUS
from storefront.routing import Routes
from storefront.themes.css import data_attributes, presets_css
from storefront.themes.css import stylesheet as render_stylesheet
from storefront.themes.services import page_for_stylesheet, page_theme, theme_version, version_key
from storefront.themes.validation import resolve

routes = Routes()

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"


def css_response(css: str, digest: str, cache_control: str) -> Response:
    """``css`` as text/css with a strong ETag; 304 when the client already has it."""
    response = Response(css, mimetype="text/css")
    response.set_etag(digest)
    response.headers["Cache-Control"] = cache_control
    return response.make_conditional(request)


@routes.get("/lp/<slug>/theme.css")
def stylesheet(slug: str):
    """The page's theme as CSS custom properties on ``:root``; 404 for an unknown slug, an
    experiment's version without its key (``?key=``) or a draft without its preview token
    (``?preview=``)."""
    page = page_for_stylesheet(slug, request.args.get("preview"), request.args.get("key"))
    if page is None:
        abort(404)
    css, digest = render_stylesheet(page_theme(page))
    if page.status not in ("published", VERSION_STATUS):
        cache = "private, no-cache"  # a draft's theme changes under the same preview link
    elif request.args.get("v") == digest:
        cache = LONG_CACHE
    else:
        cache = SHORT_CACHE
    return css_response(css, digest, cache)


@routes.get("/themes/presets.css")
def presets_stylesheet():
    """Every preset's variables, scoped per preset, for the editor's preset swatches."""
    css, digest = presets_css()
    cache = LONG_CACHE if request.args.get("v") == digest else SHORT_CACHE
    return css_response(css, digest, cache)


@routes.app_template_global()
def theme_stylesheet_url(page: LandingPage) -> str:
    """The versioned URL of ``page``'s theme stylesheet: with the key of an experiment's
    version (``version_key``), or the preview token of a draft."""
    args = {"slug": page.slug, "v": theme_version(page)}
    if page.status == VERSION_STATUS:
        args["key"] = version_key(page)  # never the version's preview token: it opens the page
    elif page.status != "published" and page.preview_token:
        args["preview"] = page.preview_token
    return url_for("themes.stylesheet", **args)


@routes.app_template_global()
def presets_stylesheet_url() -> str:
    """The versioned URL of the presets' swatch stylesheet."""
    return url_for("themes.presets_stylesheet", v=presets_css()[1])


@routes.app_template_global()
def theme_data_attributes(page: LandingPage) -> dict[str, str]:
    """``{"data-drawer-side": ..., "data-button-style": ...}`` for ``page``'s theme."""
    return data_attributes(resolve(page_theme(page)))
